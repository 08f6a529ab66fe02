import { z } from 'zod';
import type {
  AdjustmentDTO,
  AdminUserDTO,
  AdminUsersPageDTO,
  AuditEntryDTO,
  BalanceDTO,
  DailyUsageDTO,
  ModelUsageDTO,
  PlanDTO,
} from '@solaris/wire';
import type { EventEmitter } from 'node:events';
import type { Clock } from './clock';
import type { SolarisConfig } from './config';
import type { Database } from './db';
import type { EngineEvents } from './engine-events';
import type { PlanWeights } from './plan-weights';
import type { QuotaStore } from './quota-store';
import { SolarisError, invalid } from './errors';
import { modelWeightsSchema, parseWith, userIdSchema } from './validation';
import { withTransaction, type Queryable } from './sql';
import { loadPolicySnapshot } from './policy';
import { CHANGE_TIME_SQL, changeTimeValues } from './statement';
import { grantNoticeText, insertNotice, resetNoticeText } from './notices';
import { auditLogPage, usageByModel, usageDaily } from './admin-reports';

/** Who did it (written to the audit log). */
export interface Actor {
  id: string;
  email?: string | null;
}

const MAX_GRANT = 1_000_000_000_000;
const planSchema = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'id: lowercase letters, digits, - and _ (max 64)'),
  name: z.string().trim().min(1).max(200),
  tokenLimit: z.number().int().min(0).max(MAX_GRANT),
  period: z.enum(['month', 'week', 'day']),
  isDefault: z.boolean().default(false),
  // Omitted on an update: the plan keeps its weights; {} clears them.
  modelWeights: modelWeightsSchema.optional(),
});
const grantSchema = z.object({
  userId: userIdSchema,
  tokens: z.number().int('tokens must be a whole number').positive('tokens must be positive').max(MAX_GRANT),
  reason: z.string().trim().max(500).nullable().optional(),
  expiresAt: z.iso.datetime({ offset: true }).nullable().optional(),
});
const overrideSchema = z.object({ userId: userIdSchema, limit: z.number().int().min(0).max(MAX_GRANT).nullable() });
const usersQuery = z.object({
  q: z.string().max(200).optional(),
  sort: z.enum(['usage', 'email', 'lastSeen']).default('usage'),
  limit: z.number().int().min(1).max(500).default(50),
  offset: z.number().int().min(0).max(1_000_000).default(0),
});

interface PlanRow {
  id: string;
  name: string;
  token_limit: number;
  period: PlanDTO['period'];
  is_default: boolean;
  model_weights: Array<[string, number]>;
}
const toPlan = (r: PlanRow): PlanDTO => ({
  id: r.id,
  name: r.name,
  tokenLimit: Number(r.token_limit),
  period: r.period,
  isDefault: r.is_default,
  modelWeights: Object.fromEntries(r.model_weights),
});

interface UserDirectoryRow {
  email: string | null;
  name: string | null;
  role: string | null;
  last_seen_at: Date | null;
  plan_id: string | null;
  limit_override: number | null;
}
const toAdminUser = (userId: string, r: UserDirectoryRow, balance: BalanceDTO): AdminUserDTO => ({
  userId,
  email: r.email,
  name: r.name,
  role: r.role,
  lastSeenAt: r.last_seen_at?.toISOString() ?? null,
  planId: r.plan_id,
  limitOverride: r.limit_override == null ? null : Number(r.limit_override),
  balance,
});

/**
 * What the admin service uses of the engine. The engine builds the service and passes itself; naming only these
 * pieces keeps admin.ts from importing engine.ts (which imports admin.ts).
 */
export interface AdminEngine {
  readonly db: Pick<Database, 'pool'>;
  readonly config: Pick<SolarisConfig, 'SOLARIS_TIMEZONE'>;
  readonly store: Pick<QuotaStore, 'invalidate'>;
  readonly planWeights: Pick<PlanWeights, 'invalidate'>;
  readonly events: Pick<EventEmitter<EngineEvents>, 'emit'>;
  readonly clock: Clock;
  balance(userId: string): Promise<BalanceDTO>;
}

/** Admin mutations and reports. Every mutation writes the audit log in the same transaction, then refreshes the counter. */
export class AdminService {
  constructor(private readonly engine: AdminEngine) {}

  private get pool() {
    return this.engine.db.pool;
  }
  private get tz() {
    return this.engine.config.SOLARIS_TIMEZONE;
  }

  private async audit(db: Queryable, actor: Actor, action: string, target: string | null, details: Record<string, unknown>) {
    await db.query(`INSERT INTO audit_log (actor_id, actor_email, action, target_user_id, details) VALUES ($1, $2, $3, $4, $5)`, [
      actor.id,
      actor.email ?? null,
      action,
      target,
      JSON.stringify(details),
    ]);
  }

  /** After a change to a user's policy: drop the cached counter and push the new balance. */
  private async refreshed(userId: string): Promise<BalanceDTO> {
    await this.engine.store.invalidate(userId);
    const balance = await this.engine.balance(userId);
    this.engine.events.emit('balance', balance);
    return balance;
  }

  private async periodKeyFor(db: Queryable, userId: string): Promise<string> {
    return (await loadPolicySnapshot(db, userId, this.engine.clock(), this.tz)).periodKey;
  }

  /** `notice: false` when the caller tells the user itself (an approved quota request has its own notice). */
  async grant(
    input: { userId: string; tokens: number; reason?: string | null; expiresAt?: string | null },
    actor: Actor,
    opts: { notice?: boolean } = {},
  ): Promise<BalanceDTO> {
    const g = parseWith(grantSchema, input);
    if (g.expiresAt && Date.parse(g.expiresAt) <= this.engine.clock()) throw invalid('expiresAt must be in the future');
    const message = grantNoticeText(g.tokens, g.reason ?? null);
    const noticeId = await withTransaction(this.pool, async (c) => {
      const periodKey = await this.periodKeyFor(c, g.userId);
      await c.query(
        `INSERT INTO adjustments (user_id, kind, tokens, period_key, reason, expires_at, created_by, created_at)
         VALUES ($1, 'grant', $2, $3, $4, $5, $6, $7)`,
        [g.userId, g.tokens, periodKey, g.reason ?? null, g.expiresAt ?? null, actor.id, new Date(this.engine.clock())],
      );
      await this.audit(c, actor, 'grant', g.userId, { tokens: g.tokens, reason: g.reason ?? null, expiresAt: g.expiresAt ?? null, periodKey });
      if (opts.notice === false) return null;
      return insertNotice(c, g.userId, 'grant', { message, tokens: g.tokens, reason: g.reason ?? null }, this.engine.clock());
    });
    const balance = await this.refreshed(g.userId);
    if (noticeId) this.emitNotice(g.userId, noticeId, 'grant', message, g.tokens, g.reason ?? null);
    return balance;
  }

  /**
   * Zeroes the user's usage for the current period (the ledger keeps every row; usage counts from now) and
   * re-arms the period's thresholds: usage starts over, so the 80 % warning is due again (the audit row keeps
   * the reset; the fired records only exist to fire each threshold once per period of usage).
   */
  async reset(input: { userId: string; reason?: string | null }, actor: Actor): Promise<BalanceDTO> {
    const userId = parseWith(userIdSchema, input.userId);
    const reason = input.reason == null ? null : parseWith(z.string().max(500), input.reason);
    const message = resetNoticeText(reason);
    const noticeId = await withTransaction(this.pool, async (c) => {
      const periodKey = await this.periodKeyFor(c, userId);
      await c.query(
        `INSERT INTO adjustments (user_id, kind, tokens, period_key, reason, created_by, created_at) VALUES ($1, 'reset', 0, $2, $3, $4, $5)`,
        [userId, periodKey, reason, actor.id, new Date(this.engine.clock())],
      );
      await c.query(`DELETE FROM threshold_notifications WHERE user_id = $1 AND period_key = $2`, [userId, periodKey]);
      await this.audit(c, actor, 'reset', userId, { reason, periodKey });
      return insertNotice(c, userId, 'reset', { message, reason }, this.engine.clock());
    });
    const balance = await this.refreshed(userId);
    this.emitNotice(userId, noticeId, 'reset', message, null, reason);
    return balance;
  }

  private emitNotice(userId: string, id: string, kind: 'grant' | 'reset', message: string, tokens: number | null, reason: string | null): void {
    const notice = { id, kind, createdAt: new Date(this.engine.clock()).toISOString(), message, request: null, tokens, reason };
    this.engine.events.emit('notice', { userId, notice });
  }

  async setLimitOverride(input: { userId: string; limit: number | null }, actor: Actor): Promise<BalanceDTO> {
    const o = parseWith(overrideSchema, input);
    await withTransaction(this.pool, async (c) => {
      await c.query(CHANGE_TIME_SQL, changeTimeValues(this.engine.clock()));
      await c.query(
        `INSERT INTO user_quotas (user_id, limit_override) VALUES ($1, $2)
         ON CONFLICT (user_id) DO UPDATE SET limit_override = EXCLUDED.limit_override, updated_at = now()`,
        [o.userId, o.limit],
      );
      await this.audit(c, actor, 'limit.override', o.userId, { limit: o.limit });
    });
    return this.refreshed(o.userId);
  }

  async assignPlan(input: { userId: string; planId: string }, actor: Actor): Promise<BalanceDTO> {
    const userId = parseWith(userIdSchema, input.userId);
    const planId = parseWith(planSchema.shape.id, input.planId);
    await withTransaction(this.pool, async (c) => {
      const exists = await c.query(`SELECT 1 FROM plans WHERE id = $1`, [planId]);
      if (exists.rowCount === 0) throw new SolarisError('not_found', `plan ${planId} does not exist`);
      await c.query(CHANGE_TIME_SQL, changeTimeValues(this.engine.clock()));
      await c.query(
        `INSERT INTO user_quotas (user_id, plan_id) VALUES ($1, $2)
         ON CONFLICT (user_id) DO UPDATE SET plan_id = EXCLUDED.plan_id, updated_at = now()`,
        [userId, planId],
      );
      await this.audit(c, actor, 'plan.assign', userId, { planId });
    });
    return this.refreshed(userId);
  }

  async listPlans(): Promise<PlanDTO[]> {
    const { rows } = await this.pool.query<PlanRow>(`SELECT id, name, token_limit, period, is_default, model_weights FROM plans ORDER BY token_limit, id`);
    return rows.map(toPlan);
  }

  /** Creates or updates a plan. Users on it get the new limit/period at their next decision. */
  async upsertPlan(input: unknown, actor: Actor): Promise<PlanDTO> {
    const p = parseWith(planSchema, input);
    const plan = await withTransaction(this.pool, async (c) => {
      await c.query(CHANGE_TIME_SQL, changeTimeValues(this.engine.clock()));
      if (p.isDefault) await c.query(`UPDATE plans SET is_default = false WHERE is_default AND id <> $1`, [p.id]);
      const { rows } = await c.query<PlanRow>(
        `INSERT INTO plans (id, name, token_limit, period, is_default, model_weights)
         VALUES ($1, $2, $3, $4, $5, COALESCE($6::jsonb, '[]'::jsonb))
         ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, token_limit = EXCLUDED.token_limit, period = EXCLUDED.period,
           is_default = EXCLUDED.is_default, model_weights = COALESCE($6::jsonb, plans.model_weights), updated_at = now()
         RETURNING id, name, token_limit, period, is_default, model_weights`,
        // Pairs, not an object: jsonb would reorder the keys, and the first matching pattern wins.
        [p.id, p.name, p.tokenLimit, p.period, p.isDefault, p.modelWeights ? JSON.stringify(Object.entries(p.modelWeights)) : null],
      );
      await this.audit(c, actor, 'plan.upsert', null, { ...p });
      return toPlan(rows[0]!);
    });
    this.engine.planWeights.invalidate();
    await this.invalidatePlanUsers(plan.id, plan.isDefault);
    return plan;
  }

  /** Counters cache the limit: drop those of the plan's users (and of default-plan users) so they rebuild. */
  private async invalidatePlanUsers(planId: string, isDefault: boolean): Promise<void> {
    // On the plan now (own assignment, role plan or default), or — when the default moved — on no own plan.
    const { rows } = await this.pool.query<{ user_id: string }>(
      `SELECT ids.user_id FROM (SELECT user_id FROM user_quotas UNION SELECT user_id FROM users_cache) ids
       WHERE solaris_effective_plan(ids.user_id) = $1
          OR ($2 AND NOT EXISTS (SELECT 1 FROM user_quotas q WHERE q.user_id = ids.user_id AND q.plan_id IS NOT NULL))`,
      [planId, isDefault],
    );
    for (const r of rows) await this.engine.store.invalidate(r.user_id);
  }

  /**
   * Upserts what LibreChat knows about a user (LibreChat owns users; we cache for the admin tab).
   * The role picks the user's plan (role_plans) when no plan is assigned to them: on first sight or a role
   * change the cached counter is dropped, so the next decision uses the role's plan.
   */
  async touchUser(u: { userId: string; email?: string | null; name?: string | null; role?: string | null; emailUnverified?: boolean }): Promise<void> {
    const userId = parseWith(userIdSchema, u.userId);
    // An unverified email (the proxy's X-Solaris-User-Email header) only fills a missing one: it never replaces the
    // email a signed token or LibreChat's records gave.
    const { rows } = await this.pool.query<{ old_role: string | null; was_known: boolean; role: string | null }>(
      `WITH old AS (SELECT role FROM users_cache WHERE user_id = $1)
       INSERT INTO users_cache (user_id, email, name, role, last_seen_at, updated_at) VALUES ($1, $2, $3, $4, now(), now())
       ON CONFLICT (user_id) DO UPDATE SET email = CASE WHEN $5 THEN COALESCE(users_cache.email, EXCLUDED.email) ELSE COALESCE(EXCLUDED.email, users_cache.email) END,
         name = COALESCE(EXCLUDED.name, users_cache.name), role = COALESCE(EXCLUDED.role, users_cache.role),
         last_seen_at = now(), updated_at = now()
       RETURNING users_cache.role, (SELECT role FROM old) AS old_role, EXISTS (SELECT 1 FROM old) AS was_known`,
      [userId, u.email ?? null, u.name ?? null, u.role ?? null, u.emailUnverified === true],
    );
    const r = rows[0];
    if (r && (!r.was_known || r.old_role !== r.role)) await this.engine.store.invalidate(userId);
  }

  /** Users known to us (cache ∪ anyone with a quota row or ledger row), with this period's balance. */
  async listUsers(input: { q?: string; sort?: string; limit?: number; offset?: number } = {}): Promise<AdminUsersPageDTO> {
    const q = parseWith(usersQuery, input);
    const now = new Date(this.engine.clock());
    const params: unknown[] = [now, this.tz];
    let filter = '';
    if (q.q) {
      params.push(`%${q.q.replace(/[\\%_]/g, (m) => '\\' + m)}%`);
      filter = `WHERE (u.user_id ILIKE $${params.length} OR u.email ILIKE $${params.length} OR u.name ILIKE $${params.length})`;
    }
    const order = q.sort === 'email' ? 'u.email NULLS LAST, u.user_id' : q.sort === 'lastSeen' ? 'u.last_seen_at DESC NULLS LAST, u.user_id' : 'used DESC, u.user_id';
    params.push(q.limit, q.offset);
    const { rows } = await this.pool.query<{
      user_id: string;
      email: string | null;
      name: string | null;
      role: string | null;
      last_seen_at: Date | null;
      plan_id: string | null;
      limit_override: number | null;
      used: number;
      total: number;
    }>(
      `WITH ids AS (
         SELECT user_id FROM users_cache UNION SELECT user_id FROM user_quotas
         UNION SELECT DISTINCT user_id FROM ledger WHERE created_at > $1::timestamptz - interval '31 days'
       ), u AS (
         SELECT ids.user_id, c.email, c.name, c.role, c.last_seen_at, uq.plan_id, uq.limit_override,
                COALESCE(pl.period, 'month') AS kind
         FROM ids LEFT JOIN users_cache c USING (user_id) LEFT JOIN user_quotas uq USING (user_id)
         LEFT JOIN plans pl ON pl.id = solaris_effective_plan(ids.user_id)
       )
       SELECT u.*, count(*) OVER ()::int AS total,
         (SELECT COALESCE(sum(weighted_tokens), 0) FROM ledger l
           WHERE l.user_id = u.user_id AND l.period_key = solaris_period_key(u.kind, $1, $2)) AS used
       FROM u ${filter} ORDER BY ${order} LIMIT $${params.length - 1} OFFSET $${params.length}`,
      params,
    );
    const items = await Promise.all(
      rows.map(async (r) => toAdminUser(r.user_id, r, await this.engine.balance(r.user_id))),
    );
    return { items, total: rows[0]?.total ?? 0 };
  }

  async userDetail(userIdRaw: string): Promise<AdminUserDTO & { adjustments: AdjustmentDTO[] }> {
    const userId = parseWith(userIdSchema, userIdRaw);
    const [{ rows }, adj, balance] = await Promise.all([
      this.pool.query<UserDirectoryRow>(
        `SELECT c.email, c.name, c.role, c.last_seen_at, uq.plan_id, uq.limit_override
         FROM (SELECT $1::text AS user_id) x LEFT JOIN users_cache c USING (user_id) LEFT JOIN user_quotas uq USING (user_id)`,
        [userId],
      ),
      this.pool.query<{ id: number; kind: 'grant' | 'reset'; tokens: number; period_key: string; reason: string | null; expires_at: Date | null; created_by: string | null; created_at: Date }>(
        `SELECT id, kind, tokens, period_key, reason, expires_at, created_by, created_at FROM adjustments WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT 100`,
        [userId],
      ),
      this.engine.balance(userId),
    ]);
    const r = rows[0]!;
    return {
      ...toAdminUser(userId, r, balance),
      adjustments: adj.rows.map((a) => ({
        id: String(a.id),
        userId,
        kind: a.kind,
        tokens: Number(a.tokens),
        periodKey: a.period_key,
        reason: a.reason,
        expiresAt: a.expires_at?.toISOString() ?? null,
        createdBy: a.created_by,
        createdAt: a.created_at.toISOString(),
      })),
    };
  }

  auditLog(input: { cursor?: string; limit?: number } = {}): Promise<{ items: AuditEntryDTO[]; nextCursor: string | null }> {
    return auditLogPage(this.pool, input);
  }

  /** Usage per day in the deployment time zone; one user or everyone (userId null). */
  usageDaily(userId: string | null, range: { from: string; to: string }): Promise<DailyUsageDTO[]> {
    return usageDaily(this.pool, this.tz, userId, range);
  }

  usageByModel(range: { from: string; to: string }): Promise<ModelUsageDTO[]> {
    return usageByModel(this.pool, range);
  }
}
