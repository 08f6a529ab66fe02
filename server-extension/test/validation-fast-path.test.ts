/**
 * The chat path's plain checks (core/validation.ts) must never accept what the zod schemas refuse: they only
 * skip zod for requests zod would accept.
 */
import fc from 'fast-check';
import { plainReserveOk, plainSettleOk, reserveSchema, settleSchema } from '../src/core/validation';

const text = fc.oneof(
  fc.constant(''), fc.constant('u-1'), fc.constant('a\u0000b'), fc.constant('\ud800'), fc.constant('ctx.title_1'), fc.constant('has space'),
  fc.string({ maxLength: 5 }), fc.string({ minLength: 60, maxLength: 70 }), fc.string({ minLength: 125, maxLength: 135 }), fc.string({ minLength: 195, maxLength: 205 }),
);
const num = fc.oneof(fc.integer({ min: -5, max: 5 }), fc.double(), fc.constant(1e12), fc.constant(1e12 + 1), fc.constant(1_000_000), fc.constant(1_000_001), fc.constant(Infinity), fc.constant(NaN));
const any = fc.oneof(fc.constant(undefined), fc.constant(null), fc.boolean(), text, num, fc.constantFrom('proxy', 'librechat', 'litellm', 'other'));

describe('validation fast path', () => {
  it('plainSettleOk(v) ⇒ zod accepts v (random settle requests)', () => {
    const settle = fc.record({
      requestId: fc.oneof(text, any), userId: fc.oneof(text, any), model: fc.oneof(text, any), planId: any, promptTokens: fc.oneof(num, any),
      completionTokens: fc.oneof(num, any), reportedCost: fc.oneof(num, any), source: any, estimated: any, conversationId: any, messageId: any,
      context: any, occurredAt: fc.oneof(num, any), releaseRequestId: any,
    });
    fc.assert(
      fc.property(settle, (v) => {
        if (plainSettleOk(v)) expect(settleSchema.safeParse(v).success).toBe(true);
      }),
      { numRuns: 20_000 },
    );
    const valid = { requestId: 'r', userId: 'u', model: 'm', promptTokens: 1, completionTokens: 2, source: 'librechat', releaseRequestId: 'lcgate:x' };
    expect(plainSettleOk(valid)).toBe(true);
  });

  it('plainReserveOk(v) ⇒ zod accepts v (random reserve requests)', () => {
    const reserve = fc.record({ userId: fc.oneof(text, any), requestId: fc.oneof(text, any), estimate: fc.oneof(num, any), model: fc.oneof(text, any), tokens: fc.oneof(num, any), minTokens: fc.oneof(num, any) }, { requiredKeys: ['userId', 'requestId'] });
    fc.assert(
      fc.property(reserve, (v) => {
        if (plainReserveOk(v)) expect(reserveSchema.safeParse(v).success).toBe(true);
      }),
      { numRuns: 20_000 },
    );
    expect(plainReserveOk({ userId: 'u', requestId: 'lcgate:1', model: 'gpt-4o', tokens: 10, minTokens: 3 })).toBe(true);
  });
});
