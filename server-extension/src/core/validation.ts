import { z } from 'zod';
import { invalid } from './errors';
import { isWellFormed } from './text';

// Absurd-size guard: no single request is billed more than this many tokens (10^12 > any context window × weight).
export const MAX_TOKENS_PER_REQUEST = 1_000_000_000_000;

// Postgres text cannot hold NUL (SQLSTATE 22021): refused here as bad input, or a settlement would fail after the
// answer was served (tokens never charged) and a reservation would look like a store outage (fail mode).
const noNul = (s: z.ZodString) => s.refine((v) => !v.includes('\u0000'), 'must not contain NUL characters');
// An id is a key: a lone UTF-16 surrogate would be stored as U+FFFD and no longer match the id the caller holds.
const wellFormedId = (s: z.ZodType<string>) => s.refine(isWellFormed, 'must be valid Unicode text');
export const userIdSchema = wellFormedId(noNul(z.string().min(1, 'userId must not be empty').max(128, 'userId is too long')));
export const requestIdSchema = wellFormedId(noNul(z.string().min(1, 'requestId must not be empty').max(200, 'requestId is too long')));
const tokens = z.number().int('must be a whole number').min(0, 'must not be negative').max(MAX_TOKENS_PER_REQUEST, 'is absurdly large');

const modelSchema = noNul(z.string().min(1).max(200));

/** A plan's model weights: glob → multiplier (first match wins, as SOLARIS_MODEL_WEIGHTS), at most 50. */
export const modelWeightsSchema = z
  .record(
    noNul(z.string().trim().min(1, 'empty model pattern').max(200, 'model pattern is too long')),
    z.number().positive('a weight must be positive').max(1000, 'a weight must be at most 1000'),
  )
  .refine((w) => Object.keys(w).length <= 50, 'at most 50 models');
export const reserveSchema = z
  .object({ userId: userIdSchema, requestId: requestIdSchema, estimate: tokens.optional(), model: modelSchema.optional(), tokens: tokens.optional(), minTokens: tokens.optional() })
  .refine((r) => r.estimate !== undefined || (r.model !== undefined && r.tokens !== undefined), {
    message: 'give the weighted estimate, or the model and the raw tokens',
    path: ['estimate'],
  });
export const settleSchema = z.object({
  requestId: requestIdSchema,
  userId: userIdSchema,
  model: modelSchema,
  planId: z.string().max(64).nullable().optional(),
  promptTokens: tokens,
  completionTokens: tokens,
  reportedCost: z.number().min(0).max(1_000_000).nullable().optional(),
  source: z.enum(['proxy', 'librechat', 'litellm']),
  estimated: z.boolean().optional(),
  conversationId: noNul(z.string().max(200)).nullable().optional(),
  messageId: noNul(z.string().max(200)).nullable().optional(),
  context: z.string().regex(/^[A-Za-z0-9_.-]{1,32}$/, 'context: 1-32 letters, digits, . _ -').nullable().optional(),
  occurredAt: z.number().int().min(0).optional(),
  releaseRequestId: requestIdSchema.nullable().optional(),
});

function check<T>(schema: z.ZodType<T>, value: unknown): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const field = issue.path.join('.') || 'input';
  throw invalid(`${field}: ${issue.message}`, { field });
}

// The chat path validates every reserve and settle: zod's parse was ~0.15 ms of CPU per chat inside LibreChat.
// These plain checks accept exactly a subset of what the schemas accept (never more); anything they do not
// accept goes to zod, which gives the error message (so the messages do not change).
const idOk = (v: unknown, max: number): boolean => typeof v === 'string' && v.length >= 1 && v.length <= max && !v.includes('\u0000') && isWellFormed(v);
const tokensOk = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= MAX_TOKENS_PER_REQUEST;
const optional = (v: unknown, ok: (v: unknown) => boolean): boolean => v === undefined || ok(v);
const nullable = (v: unknown, ok: (v: unknown) => boolean): boolean => v === undefined || v === null || ok(v);
const textOk = (max: number) => (v: unknown) => typeof v === 'string' && v.length <= max && !v.includes('\u0000');
const CONTEXT = /^[A-Za-z0-9_.-]{1,32}$/;
const SOURCES = new Set(['proxy', 'librechat', 'litellm']);

export function plainReserveOk(v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  return (
    idOk(r.userId, 128) && idOk(r.requestId, 200) && optional(r.estimate, tokensOk) && optional(r.model, (m) => idOk(m, 200)) &&
    optional(r.tokens, tokensOk) && optional(r.minTokens, tokensOk) && (r.estimate !== undefined || (r.model !== undefined && r.tokens !== undefined))
  );
}

export function plainSettleOk(v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  return (
    idOk(r.requestId, 200) && idOk(r.userId, 128) && typeof r.model === 'string' && r.model.length >= 1 && r.model.length <= 200 && !r.model.includes('\u0000') &&
    nullable(r.planId, (p) => typeof p === 'string' && p.length <= 64) && tokensOk(r.promptTokens) && tokensOk(r.completionTokens) &&
    nullable(r.reportedCost, (c) => typeof c === 'number' && c >= 0 && c <= 1_000_000) && SOURCES.has(r.source as string) &&
    optional(r.estimated, (e) => typeof e === 'boolean') && nullable(r.conversationId, textOk(200)) && nullable(r.messageId, textOk(200)) &&
    nullable(r.context, (c) => typeof c === 'string' && CONTEXT.test(c)) && optional(r.occurredAt, (t) => typeof t === 'number' && Number.isInteger(t) && t >= 0) &&
    nullable(r.releaseRequestId, (id) => idOk(id, 200))
  );
}

export const validateUserId = (v: unknown) => (idOk(v, 128) ? (v as string) : check(userIdSchema, v));
/** Throws invalid_input when the request is not one; the caller keeps using its own object. */
export const validateReserve = (v: unknown): void => {
  if (!plainReserveOk(v)) check(reserveSchema, v);
};
export const validateSettle = (v: unknown): void => {
  if (!plainSettleOk(v)) check(settleSchema, v);
};
export { check as parseWith };
