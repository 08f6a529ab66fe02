import type pg from 'pg';
import type { CounterState, QuotaStore, ReserveInput, ReserveResult, Settlement, SettleResult } from './quota-store';
import { toPolicySnapshot, type SnapshotRow } from './policy';
import { collectLedgerResults, settledRow, toEntry } from './ledger';

export interface PostgresQuotaStoreOptions {
  pool: pg.Pool;
  timezone: string;
  reservationTtlMs: number;
  maxInflight: number;
}

/**
 * The quota counter in SQL: for single-database installs and the embedded default. Each step is one
 * transaction under a per-user advisory lock, so replicas sharing the database serialise per user.
 * The counter is a row of quota_counters (migrations/1765000000000_pg-store-counter-cache.sql): the policy
 * snapshot (plan, grants, last reset, thresholds, the period's ledger sum) built once under the lock and then
 * moved by each settlement in the same transaction as its ledger row, so it cannot disagree with the ledger;
 * triggers on every input of the snapshot (ledger rows from other writers, grants, resets, plans, roles,
 * thresholds, TRUNCATE) drop it, and a new period, a grant's expiry or another time zone rebuilds it. The
 * table is UNLOGGED: after a crash it comes back empty and each counter is rebuilt from the ledger, as a lost
 * Redis counter is. A replayed request id inserts nothing and moves nothing.
 *
 * Speed: each step is ONE round trip to a PL/pgSQL function (solaris_quota_reserve / solaris_quota_settle,
 * migrations/1764400000000_quota-functions.sql): the lock, the statements that must see each other under it
 * (READ COMMITTED snapshots per statement) and the commit happen server-side, and PL/pgSQL caches the plans. Reservations commit with synchronous_commit off:
 * they are not the record — one lost in a crash is a reservation that expired. Settlements commit durably.
 */
export class PostgresQuotaStore implements QuotaStore {
  readonly kind = 'postgres' as const;
  constructor(private readonly opts: PostgresQuotaStoreOptions) {}

  private toState(userId: string, row: SnapshotRow & { reserved: number }): CounterState {
    const snap = toPolicySnapshot(row);
    return {
      userId,
      planId: snap.planId,
      periodKind: snap.periodKind,
      periodKey: snap.periodKey,
      periodStart: snap.periodStart,
      periodEnd: snap.periodEnd,
      limit: snap.limit,
      granted: snap.granted,
      used: snap.used,
      reserved: Number(row.reserved),
      fired: snap.fired,
      personalCap: snap.personalCap,
      warnPercent: snap.warnPercent,
    };
  }

  async reserve(input: ReserveInput, now: number): Promise<ReserveResult> {
    const { userId, requestId, estimate } = input;
    // Named: each connection parses and plans the call once. 8 arguments: the "reserve up to" overload
    // (migrations/1765300000000_reserve-up-to-idempotency.sql); a null minimum is all or nothing.
    const { rows } = await this.opts.pool.query<SnapshotRow & { reserved: number; open_count: number; mine: boolean; inserted: boolean; held: number }>({
      name: 'solaris_quota_reserve_up_to',
      text: `SELECT * FROM solaris_quota_reserve($1, $2, $3, $4, $5, $6, $7, $8)`,
      values: [userId, requestId, estimate, new Date(now), this.opts.timezone, new Date(now + this.opts.reservationTtlMs), this.opts.maxInflight, input.minimum ?? null],
    });
    const row = rows[0]!;
    const state = this.toState(userId, row);
    const held = Number(row.held);
    if (row.inserted) return { ok: true, outcome: 'reserved', state: { ...state, reserved: state.reserved + held }, held };
    if (row.mine) return { ok: true, outcome: 'already_reserved', state, held };
    if (row.open_count >= this.opts.maxInflight) return { ok: false, outcome: 'too_many_inflight', state, held: estimate };
    return { ok: false, outcome: 'quota_exceeded', state, held: estimate };
  }

  async settle(s: Settlement, now: number): Promise<SettleResult> {
    const { rows } = await this.opts.pool.query<SnapshotRow & { reserved: number; l_seq: number | null; l_period_key: string | null; l_cost: number | null }>({
      name: 'solaris_quota_settle',
      text: `SELECT * FROM solaris_quota_settle($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
      values: [
        s.userId, s.requestId, s.model, s.promptTokens, s.completionTokens, s.weightedTokens, s.cost, s.source, s.estimated,
        s.conversationId ?? null, s.messageId ?? null, new Date(s.occurredAt), new Date(now), this.opts.timezone,
        s.context ?? null,
      ],
    });
    const r = rows[0]!;
    const state = this.toState(s.userId, r);
    // The hold this settlement ends (Settlement.release), after the charge: a crash in between leaves a hold that
    // its expiry frees (reserved sums only unexpired holds), never a moment with neither the hold nor the charge.
    if (s.release && s.release !== s.requestId) state.reserved -= await this.dropHold(s.release, s.userId, now);
    if (r.l_seq == null) {
      // A replay: the row as first written.
      const { row } = (await collectLedgerResults(this.opts.pool, [], [s])).get(s.requestId)!;
      return { duplicate: true, entry: toEntry(row), state };
    }
    const row = settledRow(s, { seq: Number(r.l_seq), cost: Number(r.l_cost), periodKey: r.l_period_key! });
    return { duplicate: false, entry: toEntry(row), state };
  }

  /** Deletes one hold; answers the amount it still counted in `reserved` (0 when unknown or expired). */
  private async dropHold(requestId: string, userId: string, now: number): Promise<number> {
    const { rows } = await this.opts.pool.query<{ amount: string; expires_at: Date }>({
      name: 'solaris_quota_drop_hold',
      text: `DELETE FROM quota_reservations WHERE request_id = $1 AND user_id = $2 RETURNING amount, expires_at`,
      values: [requestId, userId],
    });
    const row = rows[0];
    return row && row.expires_at.getTime() > now ? Number(row.amount) : 0;
  }

  async release(requestId: string, userId: string, _now: number): Promise<boolean> {
    const r = await this.opts.pool.query(`DELETE FROM quota_reservations WHERE request_id = $1 AND user_id = $2`, [requestId, userId]);
    return (r.rowCount ?? 0) > 0;
  }

  async state(userId: string, now: number): Promise<CounterState> {
    const { rows } = await this.opts.pool.query<SnapshotRow & { reserved: number }>({
      name: 'solaris_quota_state',
      text: `SELECT * FROM solaris_quota_state($1, $2, $3)`,
      values: [userId, new Date(now), this.opts.timezone],
    });
    return this.toState(userId, rows[0]!);
  }

  async invalidate(userId: string): Promise<void> {
    // Nothing to do: the triggers on every input of the snapshot (plans, role plans, user_quotas, users_cache
    // roles, adjustments, thresholds, foreign ledger rows) already dropped the counter row in the changing
    // transaction. A DELETE here would cost a round trip per user — 10,000 after one plan edit.
    void userId;
  }

  async markFired(): Promise<void> {
    // The trigger on threshold_notifications (written by the engine) drops the counter row: nothing to do.
  }

  async close(): Promise<void> {}
}
