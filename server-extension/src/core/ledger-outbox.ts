import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { Settlement } from './quota-store';
import { insertLedgerRows } from './ledger';
import type { Logger } from './logger';
import { isPostgresUnavailable } from './store-errors';

export { isPostgresUnavailable };

/**
 * Durable buffer of ledger rows while Postgres is unreachable (docs/architecture.md, "Ledger outbox").
 *
 * RedisQuotaStore.settle appends a settlement here (XADD) when its ledger INSERT fails because Postgres
 * cannot be reached, and only then acknowledges it. Every replica runs a drainer: a consumer of one
 * consumer group that inserts the buffered rows into the ledger (`ON CONFLICT (request_id) DO NOTHING`,
 * so a row written twice — by two replicas, or by a rebuild and the drainer — is one row), then XACKs and
 * XDELs them. Entries a dead replica had read but not acknowledged are taken over with XAUTOCLAIM.
 *
 * One global stream, on purpose: it is touched only by its own commands, never inside a user's Lua script,
 * so on Redis Cluster it simply lives in its own slot.
 */
export const OUTBOX_STREAM = 'sq:ledger-outbox';
/** Rows that can never be inserted (not an outage: a bad row). Kept for the operator, never retried. */
export const OUTBOX_DEAD_STREAM = 'sq:ledger-outbox:dead';
const GROUP = 'ledger';

export interface LedgerOutboxOptions {
  redis: Redis;
  pool: pg.Pool;
  timezone: string;
  logger?: Logger;
  /** Poll period of the drainer. Default 1 s. */
  intervalMs?: number;
  /** An entry another consumer read and did not acknowledge for this long is taken over. Default 30 s. */
  claimIdleMs?: number;
  /** Consumer name; default host:pid:random. */
  consumer?: string;
  /** Consumers (of past processes) idle this long with nothing pending are removed from the group. Default 1 h. */
  pruneIdleMs?: number;
}

type StreamEntry = [id: string, fields: string[]];

export class LedgerOutbox {
  readonly consumer: string;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private groupReady = false;
  private stopped = true;
  private ticks = 0;

  constructor(private readonly opts: LedgerOutboxOptions) {
    this.consumer = opts.consumer ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  }

  /** Buffers one settlement. Resolves once Redis has the entry (as durable as Redis persistence: use AOF). */
  async append(s: Settlement): Promise<string> {
    const id = await this.opts.redis.xadd(OUTBOX_STREAM, '*', 'u', s.userId, 's', JSON.stringify(s));
    return id!;
  }

  /** Entries not yet written to the ledger (read or not). */
  async backlog(): Promise<number> {
    return this.opts.redis.xlen(OUTBOX_STREAM);
  }

  /**
   * Writes the buffered rows of one user to the ledger now (idempotent). Called by the counter rebuild
   * before it sums the ledger, so a rebuild never misses a row that was counted while Postgres was down.
   * Does not acknowledge: the drainer does (its INSERT then conflicts, harmlessly).
   */
  async flushUser(userId: string): Promise<number> {
    if ((await this.opts.redis.xlen(OUTBOX_STREAM)) === 0) return 0;
    const mine: Settlement[] = [];
    let start = '-';
    for (;;) {
      const page = (await this.opts.redis.xrange(OUTBOX_STREAM, start, '+', 'COUNT', 1000)) as StreamEntry[];
      for (const [, fields] of page) {
        const f = toFields(fields);
        if (f.u !== userId) continue;
        const s = parseSettlement(f.s);
        if (s) mine.push(s);
      }
      if (page.length < 1000) break;
      start = '(' + page[page.length - 1]![0];
    }
    if (mine.length) await insertLedgerRows(this.opts.pool, mine, this.opts.timezone);
    return mine.length;
  }

  /** Starts the periodic drainer (idempotent). */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  /** Stops polling and waits for a pass in progress. Entries stay in Redis for the next drainer. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One drain pass now (tests, shutdown). Resolves with the number of rows written. */
  async drainOnce(): Promise<number> {
    while (this.running) await this.running;
    let n = 0;
    const p = this.pass().then((w) => {
      n = w;
    });
    this.running = p;
    try {
      await p;
    } finally {
      this.running = null;
    }
    return n;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.drainOnce()
        .catch((e: unknown) => this.opts.logger?.warn('ledger outbox: drain pass failed; will retry', { err: e }))
        .finally(() => this.schedule(this.opts.intervalMs ?? 1_000));
    }, ms);
    this.timer.unref();
  }

  private async ensureGroup(): Promise<void> {
    if (this.groupReady) return;
    try {
      await this.opts.redis.xgroup('CREATE', OUTBOX_STREAM, GROUP, '0', 'MKSTREAM');
    } catch (e) {
      if (!String((e as Error).message).includes('BUSYGROUP')) throw e;
    }
    this.groupReady = true;
  }

  /** Reads own pending, then stale entries of other consumers, then new ones; writes them; acknowledges. */
  private async pass(): Promise<number> {
    const r = this.opts.redis;
    let entries: StreamEntry[];
    try {
      await this.ensureGroup();
      entries = await this.readGroup('0');
      if (this.ticks++ % 5 === 0 || entries.length === 0) {
        const claimed = (await r.xautoclaim(OUTBOX_STREAM, GROUP, this.consumer, this.opts.claimIdleMs ?? 30_000, '0-0', 'COUNT', 500)) as [string, StreamEntry[], string[]?];
        entries = entries.concat(claimed[1] ?? []);
      }
      if (entries.length === 0) entries = await this.readGroup('>');
    } catch (e) {
      // The stream or the group vanished (Redis FLUSHALL / restart without persistence): recreate next time.
      if (String((e as Error).message).includes('NOGROUP')) this.groupReady = false;
      throw e;
    }
    if (this.ticks % 60 === 1) await this.pruneConsumers();
    const live = entries.filter((e) => e[1] != null);
    if (live.length === 0) return 0;
    const uniq = new Map<string, StreamEntry>();
    for (const e of live) uniq.set(e[0], e);
    return this.write([...uniq.values()]);
  }

  /** Every restart adds a consumer name: forget those of gone processes (nothing pending, long idle). */
  async pruneConsumers(): Promise<number> {
    const rows = (await this.opts.redis.xinfo('CONSUMERS', OUTBOX_STREAM, GROUP)) as Array<Array<string | number>>;
    let removed = 0;
    for (const row of rows) {
      const f: Record<string, string | number> = {};
      for (let i = 0; i + 1 < row.length; i += 2) f[String(row[i])] = row[i + 1]!;
      if (f.name !== this.consumer && Number(f.pending) === 0 && Number(f.idle) >= (this.opts.pruneIdleMs ?? 3_600_000)) {
        await this.opts.redis.xgroup('DELCONSUMER', OUTBOX_STREAM, GROUP, String(f.name));
        removed++;
      }
    }
    return removed;
  }

  private async readGroup(from: '0' | '>'): Promise<StreamEntry[]> {
    const reply = (await this.opts.redis.xreadgroup('GROUP', GROUP, this.consumer, 'COUNT', 500, 'STREAMS', OUTBOX_STREAM, from)) as
      | Array<[string, StreamEntry[]]>
      | null;
    return reply?.[0]?.[1] ?? [];
  }

  private async write(entries: StreamEntry[]): Promise<number> {
    const good: Array<{ id: string; s: Settlement }> = [];
    const dead: Array<{ id: string; raw: string; reason: string }> = [];
    for (const [id, fields] of entries) {
      const f = toFields(fields);
      const s = parseSettlement(f.s);
      if (s) good.push({ id, s });
      else dead.push({ id, raw: f.s ?? '', reason: 'unparseable entry' });
    }
    const done: string[] = dead.map((d) => d.id);
    const { refused } = await insertOrSetAside(this.opts.pool, good.map((g) => g.s), this.opts.timezone);
    const idOf = new Map(good.map((g) => [g.s, g.id]));
    for (const r of refused) dead.push({ id: idOf.get(r.s)!, raw: JSON.stringify(r.s), reason: r.reason });
    done.push(...good.map((g) => g.id));
    const written = good.length - refused.length;
    for (const d of dead) {
      this.opts.logger?.error('ledger outbox: entry cannot be written; moved to the dead stream', { id: d.id, reason: d.reason, stream: OUTBOX_DEAD_STREAM });
      await this.opts.redis.xadd(OUTBOX_DEAD_STREAM, '*', 'id', d.id, 's', d.raw, 'reason', d.reason);
    }
    if (done.length) {
      await this.opts.redis.xack(OUTBOX_STREAM, GROUP, ...done);
      await this.opts.redis.xdel(OUTBOX_STREAM, ...done);
    }
    if (written) this.opts.logger?.info('ledger outbox: buffered settlements written to the ledger', { rows: written });
    return written;
  }
}

/**
 * Inserts buffered rows (ON CONFLICT DO NOTHING). A failure that is not an outage (a bad row) must not block
 * the others: then row by row, and the rows Postgres refuses come back in `refused` (the caller moves them to
 * the dead stream). An outage still throws: the rows stay buffered.
 */
export async function insertOrSetAside(
  pool: pg.Pool,
  rows: Settlement[],
  timezone: string,
): Promise<{ results: Awaited<ReturnType<typeof insertLedgerRows>>; refused: Array<{ s: Settlement; reason: string }> }> {
  const refused: Array<{ s: Settlement; reason: string }> = [];
  if (rows.length === 0) return { results: new Map(), refused };
  try {
    return { results: await insertLedgerRows(pool, rows, timezone), refused };
  } catch (e) {
    if (isPostgresUnavailable(e)) throw e;
  }
  const results: Awaited<ReturnType<typeof insertLedgerRows>> = new Map();
  for (const s of rows) {
    try {
      for (const [k, v] of await insertLedgerRows(pool, [s], timezone)) results.set(k, v);
    } catch (err) {
      if (isPostgresUnavailable(err)) throw err;
      refused.push({ s, reason: (err as Error).message });
    }
  }
  return { results, refused };
}

export function toFields(fields: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) out[fields[i]!] = fields[i + 1]!;
  return out;
}

export function parseSettlement(raw: string | undefined): Settlement | null {
  if (!raw) return null;
  try {
    const s = JSON.parse(raw) as Settlement;
    if (typeof s?.requestId !== 'string' || typeof s.userId !== 'string' || typeof s.occurredAt !== 'number') return null;
    return s;
  } catch {
    return null;
  }
}
