/** What the queue logs through (the winston logger, or the plugin's stderr lines). */
export interface QueueLogger {
  warn(message: string, meta?: Record<string, unknown>): unknown;
  info(message: string, meta?: Record<string, unknown>): unknown;
  error(message: string, meta?: Record<string, unknown>): unknown;
}

/**
 * The one retry policy (docs/architecture.md, "One outbox"): 250 ms doubling to 30 s, ±20 % jitter so replicas
 * that failed together do not retry together.
 */
export function backoffMs(attempt: number, opts: { baseMs?: number; maxMs?: number } = {}): number {
  const base = opts.baseMs ?? 250;
  const max = opts.maxMs ?? 30_000;
  const d = Math.min(max, base * 2 ** Math.min(attempt, 20));
  return Math.round(d * (0.8 + Math.random() * 0.4));
}

export interface QueueStats {
  /** Items not landed yet (being written or waiting for a retry). */
  waiting: number;
  /** Age of the oldest of them (ms since it was pushed); 0 when none waits. */
  oldestMs: number;
}

export interface RetryQueueOptions<T, R> {
  /** Name in logs and metrics ("settlements", "webhooks"). */
  name: string;
  /**
   * Writes a batch; resolves with one result per item (same order). Must be idempotent: a batch whose answer
   * was lost is written again.
   */
  write: (items: T[]) => Promise<R[]>;
  /** A refusal that no retry can fix (bad input): the item's promise rejects with it. Default: none is. */
  permanent?: (err: unknown) => boolean;
  /** Items per write (default 1: each item alone, all concurrently). */
  maxBatch?: number;
  /** Wait for more items before a write (default 0: the items of this event-loop turn). */
  lingerMs?: number;
  logger?: QueueLogger;
  /** How to name an item in log lines (a request id). */
  describe?: (item: T) => string;
  /** Back-off bounds (tests). */
  baseMs?: number;
  maxMs?: number;
  /** Period of the "still waiting" log line. Default 30 s. */
  logEveryMs?: number;
}

interface Entry<T, R> {
  item: T;
  since: number;
  resolve: (r: R) => void;
  reject: (e: unknown) => void;
}

/**
 * A queue that never drops: each item is written at once; a write that fails waits `backoffMs(attempt)` and is
 * tried again until it lands (or is refused for good). `push` never throws. What is waiting is visible
 * (`stats()`, a warning when waiting starts, a line every 30 s, an info line once caught up). In memory: the
 * callers hand over only what their durable store could not take (docs/architecture.md, "One outbox").
 */
export class RetryQueue<T, R = void> {
  private fresh: Entry<T, R>[] = [];
  private readonly live = new Set<Entry<T, R>>();
  private timer: NodeJS.Timeout | NodeJS.Immediate | null = null;
  private readonly inFlight = new Set<Promise<void>>();
  private retrying = 0;
  private waitingSince = 0;
  private lastLog = 0;
  private closed = false;

  constructor(private readonly opts: RetryQueueOptions<T, R>) {}

  /** Resolves with the write's result once the item landed; rejects only with a permanent refusal. */
  push(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const e: Entry<T, R> = { item, since: Date.now(), resolve, reject };
      this.live.add(e);
      const max = this.opts.maxBatch ?? 1;
      // Nothing to batch and no linger: write at once. A setImmediate here cost the rest of the event-loop turn
      // (ms under load) on every settlement, before the client's held `[DONE]` could go (bench:proxy, open loop).
      if (max <= 1 && !this.opts.lingerMs) {
        this.start([e], 0);
        return;
      }
      this.fresh.push(e);
      if (this.fresh.length >= max && max > 1) this.flushSoon(0);
      else this.flushSoon(this.opts.lingerMs ?? 0);
    });
  }

  stats(): QueueStats {
    let oldest = Infinity;
    for (const e of this.live) if (e.since < oldest) oldest = e.since;
    return { waiting: this.live.size, oldestMs: this.live.size ? Date.now() - oldest : 0 };
  }

  /** Items waiting for a retry after a failed write (not the ones being written for the first time). */
  get retryingCount(): number {
    return this.retrying;
  }

  private flushSoon(ms: number): void {
    if (this.timer) {
      if (ms > 0) return;
      this.clearTimer();
    }
    this.timer = ms > 0 ? setTimeout(() => this.flush(), ms) : setImmediate(() => this.flush());
  }

  private clearTimer(): void {
    if (!this.timer) return;
    clearTimeout(this.timer as NodeJS.Timeout);
    clearImmediate(this.timer as NodeJS.Immediate);
    this.timer = null;
  }

  private flush(): void {
    this.timer = null;
    const max = this.opts.maxBatch ?? 1;
    while (this.fresh.length) this.start(this.fresh.splice(0, max), 0);
  }

  private start(batch: Entry<T, R>[], attempt: number): void {
    const p = this.attempt(batch, attempt).finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  private async attempt(batch: Entry<T, R>[], attempt: number): Promise<void> {
    let results: R[];
    try {
      results = await this.opts.write(batch.map((e) => e.item));
    } catch (err) {
      if (this.opts.permanent?.(err) && batch.length === 1) {
        this.settle(batch, (e) => e.reject(err));
        return;
      }
      if (this.opts.permanent?.(err)) {
        // One bad item must not hold back the others: each alone, at once.
        for (const e of batch) this.start([e], attempt);
        return;
      }
      this.waitAndRetry(batch, attempt, err);
      return;
    }
    this.settle(batch, (e, i) => e.resolve(results[i] as R));
  }

  private settle(batch: Entry<T, R>[], fn: (e: Entry<T, R>, i: number) => void): void {
    batch.forEach((e, i) => {
      this.live.delete(e);
      fn(e, i);
    });
    if (this.retrying === 0 && this.waitingSince && this.live.size === 0) this.caughtUp();
  }

  private waitAndRetry(batch: Entry<T, R>[], attempt: number, err: unknown): void {
    this.retrying += batch.length;
    const now = Date.now();
    if (!this.waitingSince) {
      this.waitingSince = now;
      this.lastLog = now;
      this.opts.logger?.warn(`${this.opts.name} queue: write failed; waiting to retry (nothing is dropped)`, {
        queue: this.opts.name,
        ...this.stats(),
        items: batch.slice(0, 20).map((e) => this.opts.describe?.(e.item) ?? ''),
        err,
      });
    } else if (now - this.lastLog >= (this.opts.logEveryMs ?? 30_000)) {
      this.lastLog = now;
      this.opts.logger?.warn(`${this.opts.name} queue: still waiting`, { queue: this.opts.name, ...this.stats(), attempt, err });
    }
    const t = setTimeout(() => {
      this.retrying -= batch.length;
      this.start(batch, attempt + 1);
    }, this.closed ? Math.min(250, backoffMs(attempt, this.opts)) : backoffMs(attempt, this.opts));
    // A waiting item must not keep a process alive that is otherwise done; close() waits explicitly.
    t.unref();
  }

  private caughtUp(): void {
    this.opts.logger?.info(`${this.opts.name} queue: caught up`, { queue: this.opts.name, waitedMs: Date.now() - this.waitingSince });
    this.waitingSince = 0;
  }

  /** Resolves when nothing waits any more, or after `timeoutMs` (then returns what still waits). */
  async drain(timeoutMs = Infinity): Promise<T[]> {
    if (this.timer) {
      this.clearTimer();
      this.flush();
    }
    const deadline = Date.now() + timeoutMs;
    while (this.live.size && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, Math.max(1, Math.min(20, deadline - Date.now()))));
      if (this.fresh.length && !this.timer) this.flush();
    }
    return [...this.live].map((e) => e.item);
  }

  /**
   * Shutdown: retries faster, waits up to `timeoutMs`, then logs every item left (they are lost with the
   * process: operators reconcile them by the ids in this line).
   */
  async close(timeoutMs = 5_000): Promise<void> {
    this.closed = true;
    const left = await this.drain(timeoutMs);
    if (left.length) {
      this.opts.logger?.error(`${this.opts.name} queue: shutting down with items not written`, {
        queue: this.opts.name,
        count: left.length,
        items: left.map((i) => this.opts.describe?.(i) ?? ''),
      });
    }
  }
}
