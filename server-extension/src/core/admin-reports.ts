/**
 * The admin tab's read-only reports: the audit log (newest first, cursor by id), usage per day and per model.
 * Read straight from the ledger and audit tables; the mutations that write them are AdminService's (admin.ts).
 */
import { z } from 'zod';
import type { AuditEntryDTO, DailyUsageDTO, ModelUsageDTO } from '@solaris/wire';
import { parseWith, userIdSchema } from './validation';
import type { Queryable } from './sql';

const dateRange = z.object({ from: z.iso.datetime({ offset: true }).or(z.iso.date()), to: z.iso.datetime({ offset: true }).or(z.iso.date()) });

export async function auditLogPage(pool: Queryable, input: { cursor?: string; limit?: number } = {}): Promise<{ items: AuditEntryDTO[]; nextCursor: string | null }> {
  const limit = parseWith(z.number().int().min(1).max(200).default(50), input.limit);
  const before = input.cursor == null ? null : parseWith(z.string().regex(/^\d{1,18}$/, 'cursor must be a number'), input.cursor);
  // Who and whom by e-mail for the admin tab: the e-mail the actor had then, else LibreChat's cached one.
  const { rows } = await pool.query<{
    id: number;
    actor_id: string;
    actor_email: string | null;
    action: string;
    target_user_id: string | null;
    target_email: string | null;
    details: Record<string, unknown>;
    created_at: Date;
  }>(
    `SELECT a.id, a.actor_id, coalesce(a.actor_email, ua.email) AS actor_email, a.action, a.target_user_id, ut.email AS target_email, a.details, a.created_at
     FROM audit_log a
     LEFT JOIN users_cache ua ON ua.user_id = a.actor_id
     LEFT JOIN users_cache ut ON ut.user_id = a.target_user_id
     WHERE ($1::bigint IS NULL OR a.id < $1) ORDER BY a.id DESC LIMIT $2`,
    [before, limit + 1],
  );
  const page = rows.slice(0, limit);
  return {
    items: page.map((r) => ({
      id: String(r.id),
      actorId: r.actor_id,
      actorEmail: r.actor_email,
      action: r.action,
      targetUserId: r.target_user_id,
      targetEmail: r.target_email,
      details: r.details,
      createdAt: r.created_at.toISOString(),
    })),
    nextCursor: rows.length > limit ? String(page[page.length - 1]!.id) : null,
  };
}

/** Usage per day in the deployment time zone `tz`; one user or everyone (userId null). */
export async function usageDaily(pool: Queryable, tz: string, userId: string | null, range: { from: string; to: string }): Promise<DailyUsageDTO[]> {
  const r = parseWith(dateRange, range);
  if (userId !== null) parseWith(userIdSchema, userId);
  const { rows } = await pool.query<{ day: string; w: number; p: number; c: number; cost: number; n: number }>(
    `SELECT to_char(created_at AT TIME ZONE $3, 'YYYY-MM-DD') AS day, sum(weighted_tokens) AS w, sum(prompt_tokens) AS p,
            sum(completion_tokens) AS c, sum(cost) AS cost, count(*)::int AS n
     FROM ledger WHERE created_at >= $1::timestamptz AND created_at < $2::timestamptz AND ($4::text IS NULL OR user_id = $4)
     GROUP BY 1 ORDER BY 1`,
    [r.from, r.to, tz, userId],
  );
  return rows.map((x) => ({ day: x.day, weightedTokens: Number(x.w), promptTokens: Number(x.p), completionTokens: Number(x.c), cost: Number(x.cost), requests: x.n }));
}

export async function usageByModel(pool: Queryable, range: { from: string; to: string }): Promise<ModelUsageDTO[]> {
  const r = parseWith(dateRange, range);
  const { rows } = await pool.query<{ model: string; w: number; n: number; cost: number }>(
    `SELECT model, sum(weighted_tokens) AS w, count(*)::int AS n, sum(cost) AS cost FROM ledger
     WHERE created_at >= $1::timestamptz AND created_at < $2::timestamptz GROUP BY model ORDER BY w DESC`,
    [r.from, r.to],
  );
  return rows.map((x) => ({ model: x.model, weightedTokens: Number(x.w), requests: x.n, cost: Number(x.cost) }));
}
