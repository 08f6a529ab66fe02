import { z } from 'zod';
import { DateTime } from 'luxon';
import type { StatementQuery } from '@solaris/wire';
import { invalid } from '../../core/errors';
import { modelWeightsSchema, userIdSchema } from '../../core/validation';

/** zod → our invalid_input error naming the first bad field. */
export function parse<T>(schema: z.ZodType<T>, value: unknown, where: 'query' | 'body' | 'params'): T {
  const r = schema.safeParse(value ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const field = issue.path.join('.') || where;
  const message = issue.code === 'unrecognized_keys' ? `${where}: unknown field(s) ${issue.keys.join(', ')}` : `${field}: ${issue.message}`;
  throw invalid(message, { field, in: where });
}

const intParam = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,12}$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

/** A calendar date (YYYY-MM-DD, in the deployment time zone) or an instant with an offset. */
const dateOrInstant = z.union([z.iso.date(), z.iso.datetime({ offset: true })], { error: 'must be YYYY-MM-DD or an ISO-8601 date-time with offset' });
const periodKey = z.string().regex(/^\d{4}-(\d{2}|\d{2}-\d{2}|W\d{2})$/, 'must be a period key such as 2026-11, 2026-W48 or 2026-11-27');
const text = (max: number) => z.string().min(1).max(max);

/** Routes without query parameters still refuse unknown ones (typos fail loudly). */
export const noQuery = z.object({}).strict();
export const userIdParams = z.object({ userId: userIdSchema }).strict();
export const planIdParams = z.object({ planId: z.string().min(1).max(64) }).strict();

/**
 * Dates: `from` is inclusive, `to` is exclusive for instants and *inclusive* for calendar dates (the whole
 * day, in the deployment time zone), so `?from=2026-11-01&to=2026-11-30` is the whole of November.
 */
export function resolveRange(from: string | undefined, to: string | undefined, tz: string): { from?: string; to?: string } {
  const at = (s: string, endOfDay: boolean): string => {
    if (s.length === 10) {
      const d = DateTime.fromISO(s, { zone: tz }).startOf('day');
      return (endOfDay ? d.plus({ days: 1 }) : d).toISO()!;
    }
    return new Date(s).toISOString();
  };
  const out = { from: from === undefined ? undefined : at(from, false), to: to === undefined ? undefined : at(to, true) };
  if (out.from && out.to && Date.parse(out.from) >= Date.parse(out.to)) throw invalid('from must be before to', { field: 'from' });
  return out;
}

const statementFilters = {
  period: periodKey.optional(),
  model: text(200).optional(),
  conversationId: text(200).optional(),
  from: dateOrInstant.optional(),
  to: dateOrInstant.optional(),
};
export const statementQuery = z
  .object({ cursor: z.string().min(1).max(512).optional(), limit: intParam(1, 200).optional(), ...statementFilters })
  .strict();
export const statementCsvQuery = z.object(statementFilters).strict();

export function toStatementQuery(q: z.infer<typeof statementQuery> | z.infer<typeof statementCsvQuery>, tz: string): StatementQuery {
  const range = resolveRange(q.from, q.to, tz);
  return { ...q, from: range.from, to: range.to };
}

const MAX_RANGE_DAYS = 400;
export const rangeQuery = z.object({ from: dateOrInstant.optional(), to: dateOrInstant.optional() }).strict();
export const adminRangeQuery = rangeQuery.extend({ userId: userIdSchema.optional() }).strict();

/** Usage ranges default to the last 30 days and are capped at 400 days (they aggregate the ledger). */
export function usageRange(q: { from?: string; to?: string }, tz: string, now: number): { from: string; to: string } {
  const r = resolveRange(q.from, q.to, tz);
  const to = r.to ?? DateTime.fromMillis(now, { zone: tz }).startOf('day').plus({ days: 1 }).toISO()!;
  const from = r.from ?? DateTime.fromISO(to, { zone: tz }).minus({ days: 30 }).toISO()!;
  if (Date.parse(from) >= Date.parse(to)) throw invalid('from must be before to', { field: 'from' });
  if (Date.parse(to) - Date.parse(from) > MAX_RANGE_DAYS * 86_400_000) throw invalid(`the range may span at most ${MAX_RANGE_DAYS} days`, { field: 'to' });
  return { from: new Date(from).toISOString(), to: new Date(to).toISOString() };
}

export const adminUsersQuery = z
  .object({
    q: z.string().max(200).optional(),
    sort: z.enum(['usage', 'email', 'lastSeen']).optional(),
    limit: intParam(1, 500).optional(),
    offset: intParam(0, 1_000_000).optional(),
  })
  .strict();

export const auditQuery = z.object({ cursor: z.string().regex(/^\d{1,18}$/, 'must be a number').optional(), limit: intParam(1, 200).optional() }).strict();

export const MAX_TOKENS = 1_000_000_000_000;
export const grantBody = z
  .object({
    tokens: z.number().int('must be a whole number').positive('must be positive').max(MAX_TOKENS),
    reason: z.string().trim().max(500).nullable().optional(),
    expiresAt: z.iso.datetime({ offset: true }).nullable().optional(),
  })
  .strict();
export const resetBody = z.object({ reason: z.string().trim().max(500).nullable().optional() }).strict();
export const limitBody = z.object({ limit: z.number().int('must be a whole number').min(0).max(MAX_TOKENS).nullable() }).strict();
export const assignPlanBody = z.object({ planId: z.string().min(1).max(64) }).strict();
export const planBody = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'lowercase letters, digits, - and _ (max 64)'),
    name: z.string().trim().min(1).max(200),
    tokenLimit: z.number().int('must be a whole number').min(0).max(MAX_TOKENS),
    period: z.enum(['month', 'week', 'day']),
    isDefault: z.boolean().optional(),
    modelWeights: modelWeightsSchema.optional(),
  })
  .strict();
/** PUT /admin/plans/:planId: the id comes from the path (a body id, if sent, must match). */
export const planUpdateBody = planBody.partial({ id: true });

// ---------- pieces of the feature routes' schemas (quota requests, settings, role plans, webhooks) ----------
/** A positive whole number of tokens. */
export const tokensField = z.number().int('must be a whole number').positive('must be positive').max(MAX_TOKENS);
/** A free-text note (reason, message): trimmed, ≤ 500 characters, may be null. */
export const noteField = z.string().trim().max(500).nullable().optional();
/** A page size in the query: 1..max. */
export const limitParam = (max: number) => z.string().regex(/^\d{1,4}$/, 'must be a whole number').transform(Number).pipe(z.number().int().min(1).max(max));
