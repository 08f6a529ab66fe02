import type { Mongoose, Schema } from 'mongoose';
import { RetryQueue, isPermanentFailure, type SettleRequest, type SettleResponse } from '@solaris/server-extension';
import { errorMessage, log } from './log';

/**
 * Metering source `librechat`: every spend LibreChat records becomes one ledger settlement.
 *
 * LibreChat writes a `Transaction` document per token type (packages/data-schemas/src/schema/transaction.ts:
 * user, conversationId, messageId, tokenType 'prompt' | 'completion' | 'credits', model, context, rawAmount =
 * minus the token count, ...). The agents path writes the prompt and completion rows of one turn with
 * `Transaction.insertMany` (`bulkInsertTransactions`, packages/data-schemas/src/methods/transaction.ts); the
 * fallback path saves them one by one (`createTransaction` → `new Transaction(...).save()`, same file). Titles
 * (`context: 'title'`) are spends too. Auto-refill rows are `tokenType: 'credits'` with a positive rawAmount
 * (`settleAutoRefill`, same file): not usage, skipped.
 *
 * Grouping (decided): rows of one (user, messageId, conversationId, model, context) that arrive within
 * `coalesceMs` become ONE settlement (prompt + completion tokens); its request id is `lc:<smallest _id of the
 * group>`. A group settles at once when it holds both a prompt and a completion row (a later row of the same key
 * starts a new group). Every document belongs to exactly one group and a document id already seen by this process is
 * ignored, so nothing is counted twice; a retry re-sends the same request id, which the ledger deduplicates.
 * Rows without a messageId are settled alone (`lc:<_id>`).
 */

export interface TransactionDoc {
  _id?: unknown;
  user?: unknown;
  conversationId?: unknown;
  messageId?: unknown;
  tokenType?: unknown;
  model?: unknown;
  context?: unknown;
  rawAmount?: unknown;
  inputTokens?: unknown;
  writeTokens?: unknown;
  readTokens?: unknown;
  createdAt?: unknown;
}

export interface SettledSpend {
  userId: string;
  requestId: string;
  conversationId: string | null;
  messageId: string | null;
  context: string | null;
}

export interface TransactionMeterOptions {
  /** The engine's settle, once ready; null = metering is off (another source meters, or no engine). */
  settler: () => Promise<((req: SettleRequest) => Promise<SettleResponse>) | null>;
  /** Called after each settlement that moved the counter. */
  onSettled?: (spend: SettledSpend) => void;
  /**
   * The gate's hold this spend ends, picked (and forgotten) once per spend before its first settle attempt: the
   * settle step frees it in the same atomic step (SettleRequest.releaseRequestId), retries included.
   */
  holdOf?: (spend: SettledSpend) => string | null;
  /** A spend refused for good, or charged by another source: its hold is freed on its own (else it would wait for its expiry). */
  releaseHold?: (userId: string, holdId: string) => void;
  coalesceMs?: number;
  /**
   * First delay of the retry back-off (core/retry-queue.ts backoffMs; default 250 ms). A settlement is never
   * dropped: the engine's settleQueued already waits out store outages; this retries what fails before it
   * (the runtime still starting).
   */
  retryBaseMs?: number;
}

interface Group {
  key: string;
  userId: string;
  conversationId: string | null;
  messageId: string | null;
  model: string;
  context: string | null;
  ids: string[];
  promptTokens: number;
  completionTokens: number;
  occurredAt: number | undefined;
  /** The gate's hold this spend ends (null: none); undefined until the first settle attempt picks it. */
  hold?: string | null;
}

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
const idOf = (v: unknown): string | null => {
  if (v == null) return null;
  const s = typeof v === 'string' ? v : typeof (v as { toString?: unknown }).toString === 'function' ? String(v) : null;
  return s && s !== '[object Object]' && s.length <= 128 ? s : null;
};
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/** Tokens a spend row stands for: `-rawAmount` (LibreChat stores spends negative). */
export function tokensOf(doc: TransactionDoc): number {
  const raw = num(doc.rawAmount);
  if (raw < 0) return Math.round(-raw);
  if (doc.rawAmount == null) {
    // Structured prompt rows without rawAmount: input + cache write + cache read.
    return Math.round(Math.abs(num(doc.inputTokens)) + Math.abs(num(doc.writeTokens)) + Math.abs(num(doc.readTokens)));
  }
  return 0;
}

export class TransactionMeter {
  private readonly pending = new Map<string, Group>();
  private timer: NodeJS.Timeout | null = null;
  private readonly seen = new Set<string>();
  private readonly inflight = new Set<Promise<void>>();
  private readonly coalesceMs: number;
  /** The one retry queue (same policy, metric and log lines as the engine's): nothing is dropped. */
  private readonly queue: RetryQueue<Group, void>;

  constructor(private readonly opts: TransactionMeterOptions) {
    this.coalesceMs = opts.coalesceMs ?? 250;
    this.queue = new RetryQueue<Group, void>({
      name: 'librechat-meter',
      write: async ([g]) => [await this.settleGroup(g!)],
      permanent: isPermanentFailure,
      baseMs: opts.retryBaseMs,
      describe: (g) => `lc:${[...g.ids].sort()[0]}`,
      // The queue throttles itself (a line when waiting starts, then every 30 s).
      logger: {
        warn: (msg: string, f?: Record<string, unknown>) => log.warn(`Solaris: ${msg}`, { ...f, err: f?.err === undefined ? undefined : errorMessage(f.err) }),
        info: (msg: string, f?: Record<string, unknown>) => log.info(`Solaris: ${msg}`, f),
        error: (msg: string, f?: Record<string, unknown>) => log.error(`Solaris: ${msg}`, f),
      },
    });
  }

  /** Called from mongoose post hooks: must never throw nor block LibreChat's save. */
  accept(docs: unknown): void {
    try {
      const list = Array.isArray(docs) ? docs : [docs];
      for (const d of list) {
        const g = this.add(d as TransactionDoc);
        // A turn's prompt and completion are both here (the agents path inserts them together): settle now, so
        // the gate's hold is freed and the balance pushed as the answer ends, not a coalescing window later
        // (back-to-back turns would otherwise find up to SOLARIS_MAX_INFLIGHT holds still open).
        if (g && g.promptTokens > 0 && g.completionTokens > 0) {
          this.pending.delete(g.key);
          this.start(g);
        }
      }
      if (this.pending.size > 0 && !this.timer) {
        this.timer = setTimeout(() => this.flush(), this.coalesceMs);
        this.timer.unref?.();
      }
    } catch (e) {
      log.errorOnce('meter-accept', 'Solaris: could not read a LibreChat transaction', { error: errorMessage(e) });
    }
  }

  /** Adds a spend row to its pending group; returns that group (undefined: not a spend, or seen before). */
  private add(doc: TransactionDoc): Group | undefined {
    if (!doc || typeof doc !== 'object') return undefined;
    const tokenType = doc.tokenType;
    if (tokenType !== 'prompt' && tokenType !== 'completion') return undefined;
    const id = idOf(doc._id);
    const userId = idOf(doc.user);
    if (!id || !userId) return undefined;
    const tokens = tokensOf(doc);
    if (tokens <= 0 || this.seen.has(id)) return undefined;
    this.remember(id);
    const messageId = str(doc.messageId);
    const conversationId = str(doc.conversationId);
    const model = (str(doc.model) ?? 'unknown').slice(0, 200);
    const context = str(doc.context);
    const key = messageId ? [userId, messageId, conversationId, model, context].join('\u0000') : `id:${id}`;
    let g = this.pending.get(key);
    if (!g) {
      g = { key, userId, conversationId, messageId, model, context, ids: [], promptTokens: 0, completionTokens: 0, occurredAt: undefined };
      this.pending.set(key, g);
    }
    g.ids.push(id);
    if (tokenType === 'prompt') g.promptTokens += tokens;
    else g.completionTokens += tokens;
    const created = doc.createdAt instanceof Date ? doc.createdAt.getTime() : undefined;
    if (created !== undefined && Number.isFinite(created)) g.occurredAt = Math.max(g.occurredAt ?? 0, created);
    return g;
  }

  private remember(id: string): void {
    this.seen.add(id);
    if (this.seen.size > 50_000) {
      const oldest = this.seen.values().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
  }

  /** Settles every pending group now. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const groups = [...this.pending.values()];
    this.pending.clear();
    for (const g of groups) this.start(g);
  }

  private start(g: Group): void {
    const p = this.settleWithRetry(g).finally(() => this.inflight.delete(p));
    this.inflight.add(p);
  }

  /** Resolves when every settlement started so far finished (tests). */
  async drain(): Promise<void> {
    this.flush();
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  /** Shutdown: settles what is pending, waits at most `timeoutMs`, logs the request ids of what it leaves. */
  async close(timeoutMs = 5_000): Promise<void> {
    this.flush();
    await this.queue.close(timeoutMs);
  }

  private settleWithRetry(g: Group): Promise<void> {
    return this.queue.push(g).catch((e: unknown) => {
      // Refused for good (bad input): retrying cannot help.
      log.error('Solaris: a LibreChat spend could not be recorded', { requestId: `lc:${[...g.ids].sort()[0]}`, userId: g.userId, error: errorMessage(e) });
      if (g.hold) this.opts.releaseHold?.(g.userId, g.hold);
    });
  }

  private async settleGroup(g: Group): Promise<void> {
    const requestId = `lc:${g.ids.length === 1 ? g.ids[0] : [...g.ids].sort()[0]}`;
    const settle = await this.opts.settler();
    const spend = { userId: g.userId, requestId, conversationId: g.conversationId, messageId: g.messageId, context: g.context };
    if (g.hold === undefined) g.hold = this.opts.holdOf?.(spend) ?? null;
    if (!settle) {
      // Another source charges this spend (SOLARIS_METERING_SOURCE proxy or litellm), or token control is off: the
      // turn has ended all the same, so the gate's hold goes now instead of at its expiry.
      if (g.hold) this.opts.releaseHold?.(g.userId, g.hold);
      return;
    }
    const r = await settle({
      requestId,
      userId: g.userId,
      model: g.model,
      promptTokens: g.promptTokens,
      completionTokens: g.completionTokens,
      source: 'librechat',
      estimated: false,
      conversationId: g.conversationId?.slice(0, 200) ?? null,
      messageId: g.messageId?.slice(0, 200) ?? null,
      // LibreChat's own word for what the spend was for ('message', 'title', …); anything else is dropped.
      context: g.context && /^[A-Za-z0-9_.-]{1,32}$/.test(g.context) ? g.context : null,
      occurredAt: g.occurredAt ?? (g.occurredAt = Date.now()),
      ...(g.hold ? { releaseRequestId: g.hold } : {}),
    });
    if (!r.duplicate) this.opts.onSettled?.(spend);
  }
}

/**
 * Registers the hook on LibreChat's mongoose before LibreChat compiles its models: a global plugin is applied
 * to every schema at `mongoose.model()` time (LibreChat api/db/index.js runs `createModels(mongoose)` when it
 * is first required, after our preload). Only the schema with both `tokenType` and `rawAmount` — LibreChat's
 * Transaction — gets the hooks.
 */
export function registerTransactionHook(mongoose: Mongoose, meter: TransactionMeter): void {
  mongoose.plugin((schema: Schema) => {
    if (!schema.path('tokenType') || !schema.path('rawAmount')) return;
    schema.post('save', function (doc: unknown) {
      meter.accept(doc);
    });
    schema.post('insertMany', function (docs: unknown) {
      meter.accept(docs);
    });
  });
}
