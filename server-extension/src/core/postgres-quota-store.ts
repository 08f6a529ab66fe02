import type pg from 'pg';
import type { CounterState, QuotaStore, ReserveInput, ReserveResult, Settlement, SettleResult } from './quota-store';
import { SNAPSHOT_SQL, snapshotParams, toPolicySnapshot, type SnapshotRow } from './policy';
import { collectLedgerResults, toEntry, type LedgerRow } from './ledger';

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
 *
 * Speed: each step is ONE round trip to a PL/pgSQL function (solaris_quota_reserve / solaris_quota_settle,
 * migrations/1764400000000_quota-functions.sql): the lock, the statements that must see each other under it
 * (READ COMMITTED snapshots per statement) and the commit happen server-side, and PL/pgSQL caches the plans
 * (planning the snapshot costs more than running it). Reservations commit with synchronous_commit off:
 * they are not the record — one lost in a crash is a reservation that expired. Settlements commit durably.
 */
export class PostgresQuotaStore implements QuotaStore {
  readonly kind = 'postgres' as const;
  constructor(private readonly opts: PostgresQuotaStoreOptions) {}

  /** The snapshot plus the open reservations ($1 user, $2 now), as one statement. */
  private static readonly COUNTER_SQL = `SELECT s.*,
      (SELECT COALESCE(sum(amount), 0) FROM quota_reservations WHERE user_id = $1::text AND expires_at > $2::timestamptz) AS reserved
    FROM (${SNAPSHOT_SQL}) s`;

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
    // Named: each connection parses and plans the call once.
    const { rows } = await this.opts.pool.query<SnapshotRow & { reserved: number; open_count: number; mine: boolean; inserted: boolean }>({
      name: 'solaris_quota_reserve',
      text: `SELECT * FROM solaris_quota_reserve($1, $2, $3, $4, $5, $6, $7)`,
      values: [userId, requestId, estimate, new Date(now), this.opts.timezone, new Date(now + this.opts.reservationTtlMs), this.opts.maxInflight],
    });
    const row = rows[0]!;
    const state = this.toState(userId, row);
    if (row.inserted) return { ok: true, outcome: 'reserved', state: { ...state, reserved: state.reserved + estimate } };
    if (row.mine) return { ok: true, outcome: 'already_reserved', state };
    if (row.open_count >= this.opts.maxInflight) return { ok: false, outcome: 'too_many_inflight', state };
    return { ok: false, outcome: 'quota_exceeded', state };
  }

  async settle(s: Settlement, now: number): Promise<SettleResult> {
    const { rows } = await this.opts.pool.query<SnapshotRow & { reserved: number; l_seq: number | null; l_period_key: string | null; l_cost: number | null }>({
      name: 'solaris_quota_settle',
      text: `SELECT * FROM solaris_quota_settle($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
      values: [
        s.userId, s.requestId, s.model, s.promptTokens, s.completionTokens, s.weightedTokens, s.cost, s.source, s.estimated,
        s.conversationId ?? null, s.messageId ?? null, new Date(s.occurredAt), new Date(now), this.opts.timezone,
      ],
    });
    const r = rows[0]!;
    const state = this.toState(s.userId, r);
    if (r.l_seq == null) {
      // A replay: the row as first written.
      const { row } = (await collectLedgerResults(this.opts.pool, [], [s])).get(s.requestId)!;
      return { duplicate: true, entry: toEntry(row), state };
    }
    const row: LedgerRow = {
      seq: Number(r.l_seq),
      request_id: s.requestId,
      user_id: s.userId,
      created_at: new Date(s.occurredAt),
      model: s.model,
      prompt_tokens: s.promptTokens,
      completion_tokens: s.completionTokens,
      total_tokens: s.promptTokens + s.completionTokens,
      weighted_tokens: s.weightedTokens,
      cost: Number(r.l_cost),
      source: s.source,
      estimated: s.estimated,
      conversation_id: s.conversationId ?? null,
      message_id: s.messageId ?? null,
      period_key: r.l_period_key!,
    };
    return { duplicate: false, entry: toEntry(row), state };
  }

  async release(requestId: string, userId: string, _now: number): Promise<boolean> {
    const r = await this.opts.pool.query(`DELETE FROM quota_reservations WHERE request_id = $1 AND user_id = $2`, [requestId, userId]);
    return (r.rowCount ?? 0) > 0;
  }

  async state(userId: string, now: number): Promise<CounterState> {
    // Named, like the snapshot itself (policy.ts): planned once per connection.
    const { rows } = await this.opts.pool.query<SnapshotRow & { reserved: number }>({
      name: 'solaris_quota_state',
      text: PostgresQuotaStore.COUNTER_SQL,
      values: snapshotParams(userId, now, this.opts.timezone),
    });
    return this.toState(userId, rows[0]!);
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
