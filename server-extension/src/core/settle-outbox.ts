import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { Settlement } from './quota-store';
import type { LedgerRow } from './ledger';
import { LEGACY_OUTBOX_STREAM, OUTBOX_DEAD_STREAM, insertOrSetAside, parseSettlement, toFields } from './outbox-rows';
import { backoffMs } from './retry-queue';
import { ConfigError } from './config';
import { userKeys } from './redis-keys';
import { masterNodes } from './redis-client';
import { defineScripts } from './lua/scripts';
import type { Logger } from './logger';

/**
 * The one outbox of ledger rows (docs/architecture.md, "One outbox"): each user's stream `sq:{u}:o`. Rows get
 * there with SOLARIS_SETTLE_ACK=outbox, and in either mode while Postgres cannot be reached. The settle Lua
 * script appends each row (same slot as the counter) in the step that counts it, and answers the entry id.
 * Two ways out to the ledger, both idempotent (ON CONFLICT on the request id; entries deleted by id once written):
 * - write-behind (`enqueue`): the process that settled writes its own rows from memory, group-committed —
 *   no stream read, no wake-up round trips. The common path.
 * - the drainer: users announced on `sq:outbox:wake` (rows this process did not take: write-behind full,
 *   drainer stopped, or a failed write) and users found by the sweep (a process died before writing) have
 *   their streams read and written in batches, on every replica.
 */
export const WAKE_LIST = 'sq:outbox:wake';
const USERS_PER_PASS = 500;
const ROWS_PER_INSERT = 500;
/**
 * After a small pass the drainer waits this long before the next one, so rows pile up into fewer, bigger
 * passes (each pass costs a few round trips and one INSERT whatever its size). The price: a row can reach
 * the ledger (and the statement) this much later. Redis has the row, the counter moved, at once.
 */
const LINGER_MS = 25;
const SMALL_PASS_ROWS = 200;
/** Write-behind rows held in memory at most; beyond, rows take the announced path (the stream holds them anyway). */
const MAX_WRITE_BEHIND = 10_000;

export interface SettleOutboxOptions {
  redis: Redis;
  pool: pg.Pool;
  timezone: string;
  logger?: Logger;
  /** Sweeper period (streams nobody announced). Default 30 s. */
  sweepMs?: number;
  /** First wait after a failed pass (Postgres down); then the one back-off (retry-queue.ts backoffMs). Default 250 ms. */
  retryMs?: number;
  /** Wait after a small pass (fewer than 200 rows), so the next one is bigger. Default 25 ms. */
  lingerMs?: number;
  /** Rows written to the ledger (the engine emits `ledger` events for them). */
  onWritten?: (rows: Array<LedgerRow & { user_id: string }>) => void;
}

type StreamEntry = [id: string, fields: string[]];
type OutboxRow = { userId: string; id: string; s: Settlement | null; raw: string };

const outboxStreamKey = (userId: string) => userKeys(userId).outbox;

/** Does this INFO text (the `persistence` section or all of it) say appendonly yes? */
export const aofEnabled = (info: string): boolean => /^aof_enabled:1\r?$/m.test(info);

/** Redis must persist what it acknowledges: appendonly yes (INFO works where CONFIG is disabled, e.g. managed Redis). */
export async function assertAppendOnly(redis: Redis): Promise<void> {
  if (!aofEnabled(await redis.info('persistence'))) {
    throw new ConfigError(
      'Invalid configuration: SOLARIS_SETTLE_ACK=outbox needs Redis with appendonly yes (settlements are acknowledged from Redis); enable AOF or set SOLARIS_SETTLE_ACK=ledger',
    );
  }
}

/**
 * How long the drainer's BLPOP waits for an announcement (s). Idle costs 2 commands per this period (it was 1 s:
 * 2 commands a second on every replica, doing nothing); an announcement (RPUSH, any replica) ends the wait at
 * once, and the 30 s sweep finds rows whose announcement was lost.
 */
const WAKE_BLOCK_S = 30;

export class SettleOutbox {
  private stopped = true;
  private loop: Promise<void> | null = null;
  private blocking: Redis | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;
  private sweeping: Promise<void> | null = null;
  /** Write-behind: rows this process appended, waiting for their ledger INSERT. */
  private pending: OutboxRow[] = [];
  private writers = 0;
  private lingering: NodeJS.Timeout | null = null;
  private writersDone: Promise<void> = Promise.resolve();
  private endWriters: (() => void) | null = null;
  private lastWriteWarning = 0;
  /** After a failed write, rows take the drainer's path (which retries with back-off) until then. */
  private pausedUntil = 0;
  /** Consecutive failed passes (back-off), since when, and the age of the oldest row seen waiting. */
  private failures = 0;
  private failingSince = 0;
  private lastFailLog = 0;
  private oldestSeen = 0;
  onWritten: SettleOutboxOptions['onWritten'];

  constructor(private readonly opts: SettleOutboxOptions) {
    this.onWritten = opts.onWritten;
    defineScripts(opts.redis); // solarisOutboxTrim: lua/outboxTrim-1.lua
  }

  /**
   * Write-behind: `id` is the entry the settle script just appended for this row. The row is written to the
   * ledger from memory with the others of the next 25 ms (one INSERT per ≤ 500 rows; the next batch gathers
   * while one is in flight, a second starts only when a full one waits), then its entry is deleted. Returns false
   * when it does not take the row (drainer not started, too many rows waiting, or a write failed within the
   * last second): announce it then.
   */
  enqueue(userId: string, id: string, s: Settlement, raw: string): boolean {
    if (this.stopped || this.pending.length >= MAX_WRITE_BEHIND || Date.now() < this.pausedUntil) return false;
    this.pending.push({ userId, id, s, raw });
    if (this.writers === 0) {
      this.startWriter(true);
    } else if (this.lingering && this.pending.length >= ROWS_PER_INSERT) {
      // A full batch: no reason to wait for the linger.
      clearTimeout(this.lingering);
      this.lingering = null;
      void this.writeLoop();
    } else if (this.writers === 1 && !this.lingering && this.pending.length >= ROWS_PER_INSERT) {
      this.startWriter(false);
    }
    return true;
  }

  /**
   * The first writer lingers (like the drainer) so the rows of the next few milliseconds share its INSERT:
   * at a few hundred settlements a second, an INSERT per event-loop turn would carry one or two rows.
   */
  private startWriter(linger: boolean): void {
    if (this.writers++ === 0) this.writersDone = new Promise((resolve) => (this.endWriters = resolve));
    if (!linger) {
      void this.writeLoop();
      return;
    }
    this.lingering = setTimeout(() => {
      this.lingering = null;
      void this.writeLoop();
    }, this.opts.lingerMs ?? LINGER_MS);
  }

  private async writeLoop(): Promise<void> {
    try {
      while (this.pending.length) await this.writeBehind(this.pending.splice(0, ROWS_PER_INSERT));
    } finally {
      if (--this.writers === 0) this.endWriters?.();
    }
  }

  private async writeBehind(batch: OutboxRow[]): Promise<void> {
    try {
      await this.writeChunk(batch);
    } catch (e) {
      // Postgres (or Redis) unavailable: the rows are safe in their streams. Hand their users to the drainer,
      // which retries every second, and stop holding rows in memory meanwhile.
      this.pausedUntil = Date.now() + backoffMs(this.failures, { baseMs: this.opts.retryMs });
      const rest = this.pending.splice(0);
      const users = [...new Set([...batch, ...rest].map((r) => r.userId))];
      await this.opts.redis.rpush(WAKE_LIST, ...users).catch(() => undefined);
      if (Date.now() - this.lastWriteWarning > 30_000) {
        this.lastWriteWarning = Date.now();
        this.opts.logger?.warn('settle outbox: ledger write failed; rows stay in Redis and the drainer retries', { err: e, rows: batch.length + rest.length });
      }
    }
  }

  /**
   * Writes one user's outbox rows to the ledger now and removes them: the counter rebuild calls it (under the
   * user's lock) before it sums the ledger, so a rebuild never misses an acknowledged row.
   */
  async flushUser(userId: string): Promise<number> {
    const { written } = await this.drainUsers([userId], Number.MAX_SAFE_INTEGER);
    return written;
  }

  /** Writes every user's outbox rows now (tests, tools). */
  async flushAll(): Promise<number> {
    return this.drainFound(Number.MAX_SAFE_INTEGER);
  }

  /**
   * `drain` (SOLARIS_SETTLE_ACK=outbox): a drainer woken by the announcements, plus the sweep. `sweep` (ledger
   * ack): nothing new arrives, but rows acknowledged before a switch back to `ledger`, or by replicas still on
   * `outbox` during a rolling change, must not stay in Redis — every 30 s the streams found are drained.
   */
  start(mode: 'drain' | 'sweep' = 'drain'): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.moveLegacyRows().catch((e: unknown) => this.opts.logger?.warn('settle outbox: legacy ledger-outbox rows not moved yet', { err: e }));
    if (mode === 'drain') {
      // BLPOP blocks its connection: a dedicated one, so the store's commands never queue behind it.
      // No command timeout on it: BLPOP blocks for WAKE_BLOCK_S on purpose (stop() disconnects it).
      this.blocking = this.opts.redis.duplicate({ commandTimeout: undefined, enableOfflineQueue: true });
      this.blocking.on('error', () => {}); // reconnects by itself; failures surface in the loop
      this.loop = this.run();
    }
    const sweep = () => {
      this.sweeping = (mode === 'drain' ? this.sweep() : this.sweepAndDrain())
        .then(() => undefined)
        .catch((e: unknown) => {
          this.opts.logger?.warn('settle outbox: sweep failed', { err: e });
        })
        .finally(() => {
          this.sweeping = null;
          if (!this.stopped) {
            this.sweepTimer = setTimeout(sweep, this.opts.sweepMs ?? 30_000);
            this.sweepTimer.unref();
          }
        });
    };
    sweep();
  }

  /** Stops the drainer after its current pass. Rows left stay in Redis for the other replicas / the next start. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.sweepTimer) clearTimeout(this.sweepTimer);
    this.blocking?.disconnect(); // ends a BLPOP in progress
    await this.writersDone; // rows taken from memory are written (or handed back to the streams' drainers)
    await this.sweeping; // a sweep in progress finishes its pass (the pool closes after us)
    await this.loop;
    this.loop = null;
    this.blocking = null;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      let users: string[] = [];
      try {
        users = await this.popUsers();
        if (users.length === 0) {
          const got = await this.blocking!.blpop(WAKE_LIST, WAKE_BLOCK_S);
          if (!got) continue;
          users = [got[1], ...(await this.popUsers())];
        }
        const { read } = await this.drainUsers([...new Set(users)], ROWS_PER_INSERT);
        this.passSucceeded();
        if (read < SMALL_PASS_ROWS && !this.stopped) await new Promise((r) => setTimeout(r, this.opts.lingerMs ?? LINGER_MS));
      } catch (e) {
        if (this.stopped) return;
        // Postgres (or Redis) unavailable: the rows stay in their streams; put the users back and wait.
        if (users.length) await this.opts.redis.rpush(WAKE_LIST, ...users).catch(() => {});
        this.passFailed(e);
        await new Promise((r) => setTimeout(r, backoffMs(this.failures - 1, { baseMs: this.opts.retryMs })));
      }
    }
  }

  /**
   * What waits (the metric): rows held in memory for the write-behind, plus — while passes fail — the age of
   * the oldest row seen in a stream. Rows of streams nobody has read yet are found by the sweep.
   */
  stats(): { waiting: number; oldestMs: number; failing: boolean } {
    return { waiting: this.pending.length, oldestMs: this.oldestSeen ? Date.now() - this.oldestSeen : 0, failing: this.failures > 0 };
  }

  /** A log line when passes start failing, then every 30 s while they do; one when they succeed again. */
  private passFailed(e: unknown): void {
    const now = Date.now();
    if (this.failures++ === 0) this.failingSince = now;
    if (this.failures === 1 || now - this.lastFailLog >= 30_000) {
      this.lastFailLog = now;
      this.opts.logger?.warn('settle outbox: drain pass failed; rows wait in Redis, will retry', {
        err: e, failures: this.failures, waitingMs: now - this.failingSince, oldestMs: this.oldestSeen ? now - this.oldestSeen : null,
      });
    }
  }

  private passSucceeded(): void {
    if (this.failures === 0) return;
    this.opts.logger?.info('settle outbox: caught up after failed passes', { failures: this.failures, waitedMs: Date.now() - this.failingSince });
    this.failures = 0;
    this.oldestSeen = 0;
  }

  /**
   * Upgrade from the former global ledger outbox (`sq:ledger-outbox`): its rows (counted when they were
   * buffered) move to their users' streams, where the drainer writes them like any other.
   */
  async moveLegacyRows(): Promise<number> {
    const r = this.opts.redis;
    let moved = 0;
    for (;;) {
      const page = (await r.xrange(LEGACY_OUTBOX_STREAM, '-', '+', 'COUNT', 500)) as StreamEntry[];
      if (page.length === 0) break;
      const users = new Set<string>();
      // One entry at a time (the user's stream and the legacy stream are different slots): a crash in between
      // leaves the row in both, and the ledger insert dedups it.
      for (const [id, fields] of page) {
        const f = toFields(fields);
        const s = parseSettlement(f.s);
        if (s) {
          await r.xadd(outboxStreamKey(s.userId), '*', 'j', f.s!);
          users.add(s.userId);
        } else await r.xadd(OUTBOX_DEAD_STREAM, '*', 'id', id, 's', f.s ?? '', 'reason', 'unparseable entry');
        await r.xdel(LEGACY_OUTBOX_STREAM, id);
      }
      if (users.size) await r.rpush(WAKE_LIST, ...users);
      moved += page.length;
    }
    if (moved) this.opts.logger?.info('settle outbox: rows of the former ledger outbox moved to their users\' streams', { rows: moved });
    return moved;
  }

  private async popUsers(): Promise<string[]> {
    return (await this.opts.redis.lpop(WAKE_LIST, USERS_PER_PASS)) ?? [];
  }

  /**
   * Reads the users' streams (≤ `perUser` rows each), inserts the rows (500 per statement, ON CONFLICT DO
   * NOTHING), deletes the entries written and re-announces users that have more.
   */
  private async drainUsers(users: string[], perUser: number): Promise<{ written: number; read: number }> {
    const r = this.opts.redis;
    const read = r.pipeline();
    for (const u of users) {
      if (perUser === Number.MAX_SAFE_INTEGER) read.xrange(outboxStreamKey(u), '-', '+');
      else read.xrange(outboxStreamKey(u), '-', '+', 'COUNT', perUser);
    }
    const replies = (await read.exec()) ?? [];
    const rows: OutboxRow[] = [];
    const more: string[] = [];
    replies.forEach(([err, entries], i) => {
      if (err) throw err;
      const list = (entries as StreamEntry[]) ?? [];
      if (list.length >= perUser) more.push(users[i]!);
      for (const [id, fields] of list) {
        const at = Number(id.slice(0, id.indexOf('-')));
        if (at > 0 && (this.oldestSeen === 0 || at < this.oldestSeen)) this.oldestSeen = at;
        const raw = toFields(fields).j ?? '';
        const s = parseSettlement(raw);
        rows.push({ userId: users[i]!, id, s: s?.userId === users[i] ? s : null, raw });
      }
    });
    let written = 0;
    for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
      written += await this.writeChunk(rows.slice(i, i + ROWS_PER_INSERT));
    }
    if (more.length) await r.rpush(WAKE_LIST, ...more);
    return { written, read: rows.length };
  }

  private async writeChunk(chunk: OutboxRow[]): Promise<number> {
    const good = chunk.filter((c): c is typeof c & { s: Settlement } => c.s != null);
    const dead = chunk.filter((c) => c.s == null).map((c) => ({ ...c, reason: 'unparseable entry' }));
    const inserted: Array<LedgerRow & { user_id: string }> = [];
    const conflictedUsers = new Set<string>();
    const done: Array<{ userId: string; id: string }> = [...dead];
    const { results, refused } = await insertOrSetAside(this.opts.pool, good.map((g) => g.s), this.opts.timezone);
    const refusedReason = new Map(refused.map((x) => [x.s, x.reason]));
    for (const g of good) {
      const reason = refusedReason.get(g.s);
      if (reason !== undefined) {
        dead.push({ ...g, reason });
        done.push(g);
        continue;
      }
      const res = results.get(g.s.requestId);
      if (!res) continue;
      if (res.inserted) inserted.push(res.row);
      // The id is already in the ledger for someone else: this user's counter counted a row the ledger will
      // never hold. Drop the counter; the next call rebuilds it from the ledger.
      else if (res.row.user_id !== g.s.userId) conflictedUsers.add(g.s.userId);
      done.push(g);
    }
    const r = this.opts.redis;
    const tx = r.pipeline();
    for (const d of dead) tx.xadd(OUTBOX_DEAD_STREAM, '*', 'id', d.id, 's', d.raw, 'reason', d.reason);
    const byUser = new Map<string, string[]>();
    for (const d of done) byUser.set(d.userId, [...(byUser.get(d.userId) ?? []), d.id]);
    for (const [u, ids] of byUser) (tx as unknown as { solarisOutboxTrim(k: string, ...ids: string[]): void }).solarisOutboxTrim(outboxStreamKey(u), ...ids);
    for (const u of conflictedUsers) tx.del(userKeys(u).counter);
    if (done.length || dead.length || conflictedUsers.size) await tx.exec();
    for (const d of dead) this.opts.logger?.error('settle outbox: entry cannot be written; moved to the dead stream', { id: d.id, reason: d.reason });
    for (const u of conflictedUsers) this.opts.logger?.warn('settle outbox: request id already in the ledger for another user; counter dropped for rebuild', { userId: u });
    if (inserted.length) this.onWritten?.(inserted);
    return inserted.length;
  }

  /** Drains every stream found (sweep mode). Returns rows written. */
  async sweepAndDrain(): Promise<number> {
    return this.drainFound(ROWS_PER_INSERT);
  }

  /** Scans for streams and drains them, 500 users at a time (≤ `perUser` rows each). */
  private async drainFound(perUser: number): Promise<number> {
    const users = await this.scanUsers();
    let written = 0;
    for (let i = 0; i < users.length; i += USERS_PER_PASS) {
      written += (await this.drainUsers(users.slice(i, i + USERS_PER_PASS), perUser)).written;
    }
    return written;
  }

  /** Announces every stream that holds rows (a process may have died between its settle and its announce). */
  async sweep(): Promise<number> {
    const users = await this.scanUsers();
    if (users.length) await this.opts.redis.rpush(WAKE_LIST, ...users);
    return users.length;
  }

  /**
   * Users with an outbox stream, on every master (Redis Cluster: a user's stream lives on the master of its
   * slot; SCAN walks one node). SCAN patterns do not get ioredis's keyPrefix: add it, then strip it.
   */
  private async scanUsers(): Promise<string[]> {
    const prefix = String(this.opts.redis.options.keyPrefix ?? '');
    const users = new Set<string>();
    for (const node of masterNodes(this.opts.redis)) {
      let cursor = '0';
      do {
        const [next, keys] = (await node.call('SCAN', cursor, 'MATCH', `${prefix}sq:{*}:o`, 'COUNT', 1000, 'TYPE', 'stream')) as [string, string[]];
        cursor = next;
        for (const k of keys) {
          const m = /^sq:\{(.*)\}:o$/.exec(k.slice(prefix.length));
          if (m) users.add(decodeURIComponent(m[1]!));
        }
      } while (cursor !== '0');
    }
    return [...users];
  }
}
