import { z } from 'zod';
import { invalid } from './errors';

// Absurd-size guard: no single request is billed more than this many tokens (10^12 > any context window × weight).
export const MAX_TOKENS_PER_REQUEST = 1_000_000_000_000;

// Postgres text cannot hold NUL (SQLSTATE 22021): refused here as bad input, or a settlement would fail after the
// answer was served (tokens never charged) and a reservation would look like a store outage (fail mode).
const noNul = (s: z.ZodString) => s.refine((v) => !v.includes('\u0000'), 'must not contain NUL characters');
export const userIdSchema = noNul(z.string().min(1, 'userId must not be empty').max(128, 'userId is too long'));
export const requestIdSchema = noNul(z.string().min(1, 'requestId must not be empty').max(200, 'requestId is too long'));
const tokens = z.number().int('must be a whole number').min(0, 'must not be negative').max(MAX_TOKENS_PER_REQUEST, 'is absurdly large');

const reserveSchema = z.object({ userId: userIdSchema, requestId: requestIdSchema, estimate: tokens });
const settleSchema = z.object({
  requestId: requestIdSchema,
  userId: userIdSchema,
  model: noNul(z.string().min(1).max(200)),
  promptTokens: tokens,
  completionTokens: tokens,
  reportedCost: z.number().min(0).max(1_000_000).nullable().optional(),
  source: z.enum(['proxy', 'librechat', 'litellm']),
  estimated: z.boolean().optional(),
  conversationId: noNul(z.string().max(200)).nullable().optional(),
  messageId: noNul(z.string().max(200)).nullable().optional(),
  occurredAt: z.number().int().min(0).optional(),
});

function check<T>(schema: z.ZodType<T>, value: unknown): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const field = issue.path.join('.') || 'input';
  throw invalid(`${field}: ${issue.message}`, { field });
}

export const validateUserId = (v: unknown) => check(userIdSchema, v);
export const validateReserve = (v: unknown) => check(reserveSchema, v);
export const validateSettle = (v: unknown) => check(settleSchema, v);
export { check as parseWith };
