import type pg from 'pg';
import type { CounterState, QuotaStore, ReserveInput, ReserveResult, Settlement, SettleResult } from './quota-store';
import { loadPolicySnapshot, type PolicySnapshot } from './policy';
import { insertLedgerRows, toEntry } from './ledger';
import { USER_LOCK_SQL, withTransaction, type Queryable } from './sql';

export interface PostgresQuotaStoreOptions {
  pool: pg.Pool;
  timezone: string;
  reservationTtlMs: number;
  maxInflight: number;
}

/**
 * The quota counter in SQL: for single-database installs and the embedded default. Each step is one
 * transaction under a per-user advisory lock, so replicas sharing the database serialise per user.
 * There is no separate counter: usage is the ledger sum of the period since the last reset (an
 * index-only scan of ledger_user_period), so it can never disagree with the ledger, and a replayed
 * request id inserts nothing and moves nothing. Cost grows with a user's requests per period; installs
 * with heavy users should run Redis.
 */
export class PostgresQuotaStore implements QuotaStore {
  readonly kind = 'postgres' as const;
  constructor(private readonly opts: PostgresQuotaStoreOptions) {}

  private async counter(c: Queryable, userId: string, now: number): Promise<{ snap: PolicySnapshot; state: CounterState }> {
    const snap = await loadPolicySnapshot(c, userId, now, this.opts.timezone);
    const { rows } = await c.query<{ reserved: number }>(
      `SELECT COALESCE(sum(amount), 0) AS reserved FROM quota_reservations WHERE user_id = $1 AND expires_at > $2`,
      [userId, new Date(now)],
    );
    const r = rows[0]!;
    return {
      snap,
      state: {
        userId,
        planId: snap.planId,
        periodKind: snap.periodKind,
        periodKey: snap.periodKey,
        periodStart: snap.periodStart,
        periodEnd: snap.periodEnd,
        limit: snap.limit,
        granted: snap.granted,
        used: snap.used,
        reserved: Number(r.reserved),
        fired: snap.fired,
        personalCap: snap.personalCap,
        warnPercent: snap.warnPercent,
      },
    };
  }

  async reserve(input: ReserveInput, now: number): Promise<ReserveResult> {
    return withTransaction(this.opts.pool, async (c) => {
      await c.query(USER_LOCK_SQL, [input.userId]);
      await c.query(`DELETE FROM quota_reservations WHERE user_id = $1 AND expires_at <= $2`, [input.userId, new Date(now)]);
      const existing = await c.query(`SELECT 1 FROM quota_reservations WHERE request_id = $1 AND user_id = $2`, [input.requestId, input.userId]);
      const { state } = await this.counter(c, input.userId, now);
      if (existing.rowCount) return { ok: true, outcome: 'already_reserved', state };
      const open = await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM quota_reservations WHERE user_id = $1`, [input.userId]);
      if (open.rows[0]!.n >= this.opts.maxInflight) return { ok: false, outcome: 'too_many_inflight', state };
      const available = state.limit + state.granted - state.used - state.reserved;
      if (available <= 0 || input.estimate > available) {
        return { ok: false, outcome: 'quota_exceeded', state };
      }
      await c.query(`INSERT INTO quota_reservations (request_id, user_id, amount, expires_at) VALUES ($1, $2, $3, $4)`, [
        input.requestId,
        input.userId,
        input.estimate,
        new Date(now + this.opts.reservationTtlMs),
      ]);
      return { ok: true, outcome: 'reserved', state: { ...state, reserved: state.reserved + input.estimate } };
    });
  }

  async settle(s: Settlement, now: number): Promise<SettleResult> {
    return withTransaction(this.opts.pool, async (c) => {
      await c.query(USER_LOCK_SQL, [s.userId]);
      const results = await insertLedgerRows(c, [s], this.opts.timezone);
      const { inserted, row } = results.get(s.requestId)!;
      await c.query(`DELETE FROM quota_reservations WHERE request_id = $1 AND user_id = $2`, [s.requestId, s.userId]);
      const { state } = await this.counter(c, s.userId, now);
      return { duplicate: !inserted, entry: toEntry(row), state };
    });
  }

  async release(requestId: string, userId: string, _now: number): Promise<boolean> {
    const r = await this.opts.pool.query(`DELETE FROM quota_reservations WHERE request_id = $1 AND user_id = $2`, [requestId, userId]);
    return (r.rowCount ?? 0) > 0;
  }

  async state(userId: string, now: number): Promise<CounterState> {
    return (await this.counter(this.opts.pool, userId, now)).state;
  }

  async invalidate(userId: string): Promise<void> {
    // Nothing cached: limit, grants, resets and usage are read from their tables on every call.
    void userId;
  }

  async markFired(): Promise<void> {
    // threshold_notifications (written by the engine) is read by every snapshot: nothing to cache.
  }

  async close(): Promise<void> {}
}
