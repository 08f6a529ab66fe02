import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { LedgerEntryDTO, PeriodKind } from '@solaris/wire';
import type { CounterState, QuotaStore, ReserveInput, ReserveOutcome, ReserveResult, Settlement, SettleResult } from './quota-store';
import { SnapshotBatcher } from './policy';
import { LedgerWriter, settledRow, toEntry } from './ledger';
import { SolarisError } from './errors';
import { isPostgresUnavailable, isRedisUnavailable } from './store-errors';
import { WAKE_LIST, type SettleOutbox } from './settle-outbox';
import { defineScripts, loadScripts } from './lua/scripts';
import { REPLY, type CounterField } from './lua/reply';

export interface RedisQuotaStoreOptions {
  redis: Redis;
  pool: pg.Pool;
  timezone: string;
  reservationTtlMs: number;
  maxInflight: number;
  /**
   * The users' outbox streams (core/settle-outbox.ts), the one outbox of ledger rows (docs/architecture.md,
   * "One outbox"). With settleAck 'outbox', settlements are acknowledged once the settle script has appended
   * them there; with 'ledger', a settlement goes there when Postgres cannot be reached. A counter rebuild writes
   * a user's rows still waiting there first. Without it, settle fails during a Postgres outage.
   */
  settleOutbox?: SettleOutbox | null;
  /** SOLARIS_SETTLE_ACK. Default 'ledger': the ledger row first. */
  settleAck?: 'ledger' | 'outbox';
}

/** A settled marker lives this long; a replay older than REPLAY_WINDOW_MS never touches the counter. */
const MARKER_TTL_MS = 60 * 60 * 1000;
const REPLAY_WINDOW_MS = 10 * 60 * 1000;
/** A rebuild marks ids settled in this window (> REPLAY_WINDOW_MS) as already counted. */
const REBUILD_MARK_WINDOW_MS = 15 * 60 * 1000;
/** Counters outlive their period by a week (late reads of the old period still answer). */
const COUNTER_GRACE_MS = 7 * 24 * 60 * 60 * 1000;
const LOCK_TTL_MS = 5_000;

/**
 * [status, reserved, ...counter fields[, extra]]: the scripts' one-string reply split on "\n", read at the
 * positions REPLY names (lua/reply.ts, the one list of fields the Lua side is generated from).
 */
type LuaReply = string[];

interface SolarisRedis extends Redis {
  solarisReserve(c: string, r: string, ...args: (string | number)[]): Promise<string>;
  solarisSettle(c: string, r: string, m: string, ...args: (string | number)[]): Promise<string>;
  solarisSettleOutbox(c: string, r: string, m: string, o: string, ...args: (string | number)[]): Promise<string>;
  solarisState(c: string, r: string, now: number): Promise<string>;
  solarisRelease(r: string, ...requestIds: string[]): Promise<number>;
  solarisInstall(numKeys: number, ...args: (string | number)[]): Promise<number>;
  solarisFired(c: string, periodKey: string, threshold: number): Promise<number>;
  solarisUnlock(lock: string, token: string): Promise<number>;
  solarisOutboxAppend(c: string, lock: string, m: string, o: string, row: string, markerTtlMs: number): Promise<string>;
}

import { userKeys } from './redis-keys';

export { userKeys };

/**
 * Hot counters in Redis, one atomic Lua script per step (lua/<verb>-<keys>.lua), Postgres as the record.
 * settle = ledger row first (group-committed, idempotent), then the Lua step guarded by a settled marker.
 * A missing/expired counter is rebuilt from Postgres under a per-user lock (see docs/architecture.md).
 */
export class RedisQuotaStore implements QuotaStore {
  readonly kind = 'redis' as const;
  private readonly redis: SolarisRedis;
  private readonly ledger: LedgerWriter;
  /** Counter rebuilds read their policy snapshots through one batcher: a rebuild storm shares queries. */
  private readonly snapshots: SnapshotBatcher;
  private readonly toAnnounce = new Set<string>();

  constructor(private readonly opts: RedisQuotaStoreOptions) {
    const r = opts.redis;
    // lua/scripts.ts: one atomic script per step (lua/<verb>-<keys>.lua), the shared Lua inlined from lua/includes.
    defineScripts(r);
    this.redis = r as unknown as SolarisRedis;
    this.ledger = new LedgerWriter(opts.pool, opts.timezone);
    this.snapshots = new SnapshotBatcher(opts.pool, opts.timezone);
  }

  async reserve(input: ReserveInput, now: number): Promise<ReserveResult> {
    const k = userKeys(input.userId);
    const reply = await this.withCounter(input.userId, now, () =>
      this.redis.solarisReserve(
        k.counter, k.reservations, input.requestId, input.estimate, now, this.opts.reservationTtlMs, this.opts.maxInflight, input.minimum ?? '',
      ),
    );
    const outcome = reply[0] as ReserveOutcome;
    const ok = outcome === 'reserved' || outcome === 'already_reserved';
    return { ok, outcome, state: parseState(input.userId, reply), held: ok ? Number(reply[REPLY.extra]) : input.estimate };
  }

  /**
   * Durable first (docs/architecture.md, "One outbox"): the preferred store — the ledger, or the user's outbox
   * stream with SOLARIS_SETTLE_ACK=outbox — and, when it cannot be reached, the other one.
   */
  async settle(s: Settlement, now: number): Promise<SettleResult> {
    // A settlement older than the replay window goes ledger first: only the ledger can tell a new row from a replay then.
    if (this.opts.settleAck === 'outbox' && this.opts.settleOutbox && now - s.occurredAt <= REPLAY_WINDOW_MS) {
      try {
        return await this.settleToOutbox(s, now);
      } catch (e) {
        // Redis cannot be reached: the ledger is the other durable store. Its row is the charge; the counter
        // step then fails too (the caller's retry, or the hold's expiry, brings the counter in line).
        if (isRedisUnavailable(e)) return this.settleLedgerFirst(s, now);
        throw e;
      }
    }
    return this.settleLedgerFirst(s, now);
  }

  private async settleLedgerFirst(s: Settlement, now: number): Promise<SettleResult> {
    let written: Awaited<ReturnType<LedgerWriter['write']>>;
    try {
      written = await this.ledger.write(s);
    } catch (e) {
      // Postgres cannot be reached: the user's outbox stream records (and counts) it instead.
      if (!this.opts.settleOutbox || !isPostgresUnavailable(e)) throw e;
      return { ...(await this.settleToOutbox(s, now)), buffered: true };
    }
    const { inserted, row } = written;
    const entry = toEntry(row);
    const k = userKeys(s.userId);
    // Replays of old requests, or of an id that belongs to someone else, never touch the counter.
    if (row.user_id !== s.userId || (!inserted && now - row.created_at.getTime() > REPLAY_WINDOW_MS)) {
      await this.redis.solarisRelease(k.reservations, ...holdsOf(s));
      return { duplicate: true, entry, state: await this.state(s.userId, now) };
    }
    const reply = await this.withCounter(s.userId, now, () =>
      this.redis.solarisSettle(
        k.counter, k.reservations, k.marker(s.requestId), s.requestId, Number(row.weighted_tokens), row.period_key, now, MARKER_TTL_MS, row.created_at.getTime(),
        s.release ?? '',
      ),
    );
    return { duplicate: !inserted, entry, state: parseState(s.userId, reply) };
  }

  /**
   * SOLARIS_SETTLE_ACK=outbox: one script appends the row to the user's outbox stream, sets the settled marker
   * and moves the counter (counted iff recorded), and answers the stream entry id. This process then writes
   * the row to the ledger from memory (SettleOutbox.enqueue: group commit, then the entry is deleted by id);
   * the stream is what makes it durable, so a crash before that write leaves the row for the sweep or the
   * next counter rebuild. No Postgres round trip here: the writer emits the `ledger` event.
   */
  private async settleToOutbox(s: Settlement, now: number, uncountedFallback = true): Promise<SettleResult> {
    const k = userKeys(s.userId);
    const row = rowJson(s);
    let reply: LuaReply;
    try {
      reply = await this.withCounter(s.userId, now, () =>
        this.redis.solarisSettleOutbox(
          k.counter, k.reservations, k.marker(s.requestId), k.outbox, s.requestId, s.weightedTokens, '', now, MARKER_TTL_MS, Math.round(s.occurredAt), row,
          s.release ?? '',
        ),
      );
    } catch (e) {
      // The counter had to be rebuilt and Postgres is down: the script never ran, so nothing recorded the row.
      if (uncountedFallback && isPostgresUnavailable(e)) return this.appendUncounted(s, now, row);
      throw e;
    }
    const entryId = reply[REPLY.extra];
    // Not taken from memory (drainer stopped, or too many rows waiting): the drainers find it in the stream.
    if (entryId !== undefined && !this.opts.settleOutbox!.enqueue(s.userId, entryId, s, row)) this.announce(s.userId);
    const state = parseState(s.userId, reply);
    const inPeriod = s.occurredAt >= state.periodStart && s.occurredAt < state.periodEnd;
    return { duplicate: reply[REPLY.status] === 'already', deferred: true, entry: pendingEntry(s, inPeriod ? state.periodKey : ''), state };
  }

  /**
   * Tells the drainers a user's outbox has rows (when this process does not write them itself): one RPUSH per
   * event-loop turn for every user settled in it (a socket write per settlement cost more than the script on
   * this kind of box). Not awaited, not in a pipeline
   * with the script (Redis Cluster: another slot). Only a hint: a lost one is found by the drainers' sweep.
   */
  private announce(userId: string): void {
    this.toAnnounce.add(userId);
    if (this.toAnnounce.size > 1) return;
    setImmediate(() => {
      const users = [...this.toAnnounce];
      this.toAnnounce.clear();
      this.redis.rpush(WAKE_LIST, ...users).catch(() => undefined);
    });
  }

  /**
   * Postgres is down and the user's counter must be rebuilt (which needs Postgres): the row is appended to the
   * user's stream without counting it (lua/outboxAppend-4.lua; the settled marker makes a retry a no-op). The
   * rebuild writes the stream to the ledger before it sums it, so the row is counted then, once. Answers
   * store_unavailable (no counter to show): the row is recorded, the caller's retries find the marker.
   */
  private async appendUncounted(s: Settlement, now: number, row: string): Promise<SettleResult> {
    const k = userKeys(s.userId);
    for (let attempt = 0; attempt < 100; attempt++) {
      const r = await this.redis.solarisOutboxAppend(k.counter, k.lock, k.marker(s.requestId), k.outbox, row, MARKER_TTL_MS);
      if (r === 'RETRY' && attempt === 0) return this.settleToOutbox(s, now, false);
      if (r === 'LOCKED' || r === 'RETRY') {
        await new Promise((res) => setTimeout(res, 20)); // a rebuild is running (or just ended): let it finish
        continue;
      }
      this.announce(s.userId); // the drainers write it once Postgres is back
      // The turn's holds are over (recorded, counted at the rebuild): freed now rather than at their expiry.
      await this.redis.solarisRelease(k.reservations, ...holdsOf(s)).catch(() => undefined);
      throw new SolarisError('store_unavailable', 'settlement recorded in the outbox; the quota counter is unavailable until Postgres is back');
    }
    throw new SolarisError('store_unavailable', 'quota counter is being rebuilt; settlement not recorded yet');
  }

  async release(requestId: string, userId: string): Promise<boolean> {
    return (await this.redis.solarisRelease(userKeys(userId).reservations, requestId)) === 1;
  }

  async state(userId: string, now: number): Promise<CounterState> {
    const k = userKeys(userId);
    const reply = await this.withCounter(userId, now, () => this.redis.solarisState(k.counter, k.reservations, now));
    return parseState(userId, reply);
  }

  async invalidate(userId: string): Promise<void> {
    await this.redis.del(userKeys(userId).counter);
  }

  async markFired(userId: string, periodKey: string, threshold: number): Promise<void> {
    await this.redis.solarisFired(userKeys(userId).counter, periodKey, threshold);
  }

  async warmUp(): Promise<void> {
    await loadScripts(this.opts.redis);
  }

  async close(): Promise<void> {
    await this.opts.settleOutbox?.stop(); // entries left stay in Redis for the other replicas / the next start
    await this.ledger.drain();
  }

  /** What the Redis outbox holds in memory / has seen waiting (metrics). */
  outboxStats(): { waiting: number; oldestMs: number } {
    return this.opts.settleOutbox?.stats() ?? { waiting: 0, oldestMs: 0 };
  }

  /** SOLARIS_SETTLE_ACK=outbox: writes every acknowledged row still in Redis to the ledger now (tests, tools). */
  async flushOutbox(): Promise<number> {
    return this.opts.settleOutbox ? this.opts.settleOutbox.flushAll() : 0;
  }

  /** Runs a script; on MISSING rebuilds the counter from Postgres (once, under the user's lock) and retries. */
  private async withCounter(userId: string, now: number, run: () => Promise<string>): Promise<LuaReply> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const reply = await run();
      if (reply !== 'MISSING') return reply.split('\n');
      await this.rebuild(userId, now);
    }
    throw new SolarisError('store_unavailable', 'quota counter could not be rebuilt');
  }

  private async rebuild(userId: string, now: number): Promise<void> {
    const k = userKeys(userId);
    const token = randomBytes(8).toString('hex');
    const deadline = Date.now() + LOCK_TTL_MS;
    while ((await this.redis.set(k.lock, token, 'PX', LOCK_TTL_MS, 'NX')) !== 'OK') {
      // Someone else is rebuilding: wait for them, then let the caller retry its script.
      if (Date.now() > deadline) throw new SolarisError('store_unavailable', 'quota counter rebuild timed out');
      await new Promise((r) => setTimeout(r, 5));
      if (await this.redis.exists(k.lock)) continue;
      return;
    }
    try {
      // Double check under the lock: a caller that saw MISSING before another rebuild installed the counter
      // must not rebuild again. A live counter may already count settlements the snapshot below would miss
      // (their Lua step ran between this rebuild's reads), and replacing it would lose them.
      if ((await this.redis.solarisState(k.counter, k.reservations, now)) !== 'MISSING') return;
      // Rows counted while Postgres was down may still wait in the outbox: write them first, or the sum misses them.
      await this.opts.settleOutbox?.flushUser(userId);
      // The snapshot is read after taking the lock: every settlement whose Lua step ran before it is in
      // the sum and marked; every later one finds the new counter and applies itself once.
      // One statement, one snapshot: `used` and the marked ids must agree (see loadPolicySnapshot).
      const snap = await this.snapshots.load(userId, now, now - REBUILD_MARK_WINDOW_MS);
      // Every reply field (COUNTER_FIELDS: the type makes a new one a compile error here) and the last reset.
      const counter: Record<CounterField, string | number> & { rs: number } = {
        pl: snap.planId ?? '',
        pkd: snap.periodKind,
        pk: snap.periodKey,
        ps: snap.periodStart,
        pe: snap.periodEnd,
        lim: snap.limit,
        gr: snap.granted,
        used: snap.used,
        ne: snap.nextGrantExpiry,
        // Personal settings ride along in the hash ('' = none); the scripts reply with every field.
        cap: snap.personalCap ?? '',
        wp: snap.warnPercent ?? '',
        fd: snap.fired.join(','),
        // The period's last reset (ms, 0 = none): includes/settle.lua leaves rows dated at or before it out, as the sum above does.
        rs: snap.lastReset,
      };
      const fields = Object.entries(counter).flat();
      const ttl = Math.max(1, snap.periodEnd - now) + COUNTER_GRACE_MS;
      const markers = snap.recent.map((id) => k.marker(id));
      await this.redis.solarisInstall(1 + markers.length, k.counter, ...markers, ttl, MARKER_TTL_MS, ...fields);
    } finally {
      await this.redis.solarisUnlock(k.lock, token);
    }
  }
}

/** The holds a settlement ends: its own request id's and, when given, the one it frees (Settlement.release). */
function holdsOf(s: Settlement): string[] {
  return s.release && s.release !== s.requestId ? [s.requestId, s.release] : [s.requestId];
}

/** The outbox row: the settlement without `release` (a hold is not part of the record). */
function rowJson(s: Settlement): string {
  if (s.release === undefined) return JSON.stringify(s);
  const { release: _release, ...row } = s;
  return JSON.stringify(row);
}

/** The entry of a settlement whose ledger row is not written yet (no ledger id; the drainer writes it). */
function pendingEntry(s: Settlement, periodKey: string): LedgerEntryDTO {
  return { ...toEntry(settledRow(s, { seq: 0, cost: s.cost, periodKey })), id: '' };
}

const F = REPLY.field;

function parseState(userId: string, reply: LuaReply): CounterState {
  const fd = reply[F.fd];
  return {
    userId,
    planId: reply[F.pl] || null,
    periodKind: (reply[F.pkd] || 'month') as PeriodKind,
    periodKey: reply[F.pk] ?? '',
    periodStart: Number(reply[F.ps]),
    periodEnd: Number(reply[F.pe]),
    limit: Number(reply[F.lim]),
    granted: Number(reply[F.gr]),
    used: Number(reply[F.used]),
    reserved: Number(reply[REPLY.reserved] ?? 0),
    fired: fd ? fd.split(',').map(Number).sort((a, b) => a - b) : [],
    personalCap: reply[F.cap] ? Number(reply[F.cap]) : null,
    warnPercent: reply[F.wp] ? Number(reply[F.wp]) : null,
  };
}
