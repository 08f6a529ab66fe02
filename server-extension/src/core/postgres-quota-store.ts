import type pg from 'pg';
import type { CounterState, QuotaStore, ReserveInput, ReserveResult, Settlement, SettleResult } from './quota-store';
import { SNAPSHOT_SQL, snapshotParams, toPolicySnapshot, type SnapshotRow } from './policy';
import { collectLedgerResults, ledgerInsertQuery, toEntry, type LedgerRow } from './ledger';
import { USER_LOCK_SQL, inlineParams } from './sql';

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
 * Speed: each step is ONE round trip — the whole transaction (BEGIN; lock; statements; COMMIT) travels as
 * one simple-protocol query with its values inlined as escaped literals (sql.ts inlineParams); separate
 * statements are needed because each must see what the previous one committed under the lock (READ
 * COMMITTED takes a snapshot per statement). Reservations commit with synchronous_commit off: they are
 * not the record — one lost in a crash is a reservation that expired. Settlements commit durably.
 */
export class PostgresQuotaStore implements QuotaStore {
  readonly kind = 'postgres' as const;
  constructor(private readonly opts: PostgresQuotaStoreOptions) {}

  /** The snapshot plus the open reservations ($1 user, $2 now), as one statement. */
  private static readonly COUNTER_SQL = `SELECT s.*,
      (SELECT COALESCE(sum(amount), 0) FROM quota_reservations WHERE user_id = $1::text AND expires_at > $2::timestamptz) AS reserved
    FROM (${SNAPSHOT_SQL}) s`;

  /**
   * Reserve in one statement (after the lock): read the counter and the user's open reservations, insert
   * the reservation only when it fits, and say why not otherwise. $5 requestId, $6 estimate, $7 expiry, $8 max in flight.
   */
  private static readonly RESERVE_SQL = `WITH s AS (${SNAPSHOT_SQL}),
    r AS (SELECT COALESCE(sum(amount), 0) AS reserved, count(*)::int AS open, COALESCE(bool_or(request_id = $5::text), false) AS mine
          FROM quota_reservations WHERE user_id = $1::text AND expires_at > $2::timestamptz),
    ins AS (INSERT INTO quota_reservations (request_id, user_id, amount, expires_at)
            SELECT $5::text, $1::text, $6::bigint, $7::timestamptz FROM s, r
            WHERE NOT r.mine AND r.open < $8::int AND s.lim + s.granted - s.used - r.reserved > 0
              AND $6::bigint <= s.lim + s.granted - s.used - r.reserved
            ON CONFLICT (request_id) DO NOTHING RETURNING 1)
    SELECT s.*, r.reserved, r.open, r.mine, (SELECT count(*)::int FROM ins) AS inserted FROM s, r`;

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

  /** Runs a multi-statement transaction text in one round trip; returns each statement's rows. */
  private async transaction(text: string): Promise<unknown[][]> {
    const client = await this.opts.pool.connect();
    try {
      const results = (await client.query(text)) as unknown as pg.QueryResult[];
      return results.map((r) => r.rows);
    } catch (e) {
      // A failed statement leaves the explicit transaction aborted: end it before the client is reused.
      await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      client.release();
    }
  }

  async reserve(input: ReserveInput, now: number): Promise<ReserveResult> {
    const { userId, requestId, estimate } = input;
    const p = [...snapshotParams(userId, now, this.opts.timezone), requestId, estimate, new Date(now + this.opts.reservationTtlMs), this.opts.maxInflight];
    const results = await this.transaction(
      [
        'BEGIN',
        'SET LOCAL synchronous_commit TO off',
        inlineParams(USER_LOCK_SQL, [userId]),
        inlineParams(`DELETE FROM quota_reservations WHERE user_id = $1::text AND expires_at <= $2::timestamptz`, p),
        inlineParams(PostgresQuotaStore.RESERVE_SQL, p),
        'COMMIT',
      ].join(';\n'),
    );
    const row = results[4]![0] as SnapshotRow & { reserved: number; open: number; mine: boolean; inserted: number };
    const state = this.toState(userId, row);
    if (row.inserted === 1) return { ok: true, outcome: 'reserved', state: { ...state, reserved: state.reserved + estimate } };
    if (row.mine) return { ok: true, outcome: 'already_reserved', state };
    if (row.open >= this.opts.maxInflight) return { ok: false, outcome: 'too_many_inflight', state };
    return { ok: false, outcome: 'quota_exceeded', state };
  }

  async settle(s: Settlement, now: number): Promise<SettleResult> {
    const q = ledgerInsertQuery([s], this.opts.timezone);
    const results = await this.transaction(
      [
        'BEGIN',
        inlineParams(USER_LOCK_SQL, [s.userId]),
        inlineParams(q.text, q.values),
        inlineParams(`DELETE FROM quota_reservations WHERE request_id = $1::text AND user_id = $2::text`, [s.requestId, s.userId]),
        inlineParams(PostgresQuotaStore.COUNTER_SQL, snapshotParams(s.userId, now, this.opts.timezone)),
        'COMMIT',
      ].join(';\n'),
    );
    const inserted = results[2] as Array<LedgerRow & { user_id: string }>;
    // Not inserted: a replay; the row as first written is read after the commit.
    const { row } = (await collectLedgerResults(this.opts.pool, inserted, q.sorted)).get(s.requestId)!;
    const state = this.toState(s.userId, results[4]![0] as SnapshotRow & { reserved: number });
    return { duplicate: inserted.length === 0, entry: toEntry(row), state };
  }

  async release(requestId: string, userId: string, _now: number): Promise<boolean> {
    const r = await this.opts.pool.query(`DELETE FROM quota_reservations WHERE request_id = $1 AND user_id = $2`, [requestId, userId]);
    return (r.rowCount ?? 0) > 0;
  }

  async state(userId: string, now: number): Promise<CounterState> {
    const { rows } = await this.opts.pool.query<SnapshotRow & { reserved: number }>(
      PostgresQuotaStore.COUNTER_SQL,
      snapshotParams(userId, now, this.opts.timezone),
    );
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
