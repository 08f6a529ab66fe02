import type pg from 'pg';
import type { LedgerEntryDTO, MeteringSource } from '@solaris/wire';
import type { Settlement } from './quota-store';
import type { Queryable } from './sql';
import { isWellFormed, toWellFormed } from './text';
import { isPostgresUnavailable } from './store-errors';

export const LEDGER_COLUMNS = `seq, request_id, created_at, model, prompt_tokens, completion_tokens, total_tokens,
  weighted_tokens, cost, source, estimated, conversation_id, message_id, period_key`;

export interface LedgerRow {
  seq: number;
  request_id: string;
  user_id?: string;
  created_at: Date;
  model: string;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  weighted_tokens: number;
  cost: number;
  source: MeteringSource;
  estimated: boolean;
  conversation_id: string | null;
  message_id: string | null;
  period_key: string;
}

/**
 * The ledger row of a settlement: the settlement itself plus what Postgres decides (seq, cost at the column's
 * scale, period key). Built from the input rather than read back: parsing every returned column (timestamps
 * above all) cost more than this.
 */
export function settledRow(
  s: Settlement,
  decided: { seq: number; cost: number; periodKey: string },
  createdAt = new Date(s.occurredAt),
): LedgerRow & { user_id: string } {
  return {
    seq: decided.seq,
    request_id: s.requestId,
    user_id: s.userId,
    created_at: createdAt,
    model: s.model,
    prompt_tokens: s.promptTokens,
    completion_tokens: s.completionTokens,
    total_tokens: s.promptTokens + s.completionTokens,
    weighted_tokens: s.weightedTokens,
    cost: decided.cost,
    source: s.source,
    estimated: s.estimated,
    conversation_id: s.conversationId ?? null,
    message_id: s.messageId ?? null,
    period_key: decided.periodKey,
  };
}

export function toEntry(r: LedgerRow, balanceAfter: number | null = null): LedgerEntryDTO {
  return {
    id: String(r.seq),
    requestId: r.request_id,
    createdAt: r.created_at.toISOString(),
    model: r.model,
    promptTokens: Number(r.prompt_tokens),
    completionTokens: Number(r.completion_tokens),
    totalTokens: Number(r.total_tokens),
    weightedTokens: Number(r.weighted_tokens),
    cost: Number(r.cost),
    source: r.source,
    estimated: r.estimated,
    conversationId: r.conversation_id,
    messageId: r.message_id,
    periodKey: r.period_key,
    balanceAfter,
  };
}

/**
 * Inserts settlements, returning for each whether it was new. The period key is derived in SQL from the
 * user's plan and the settlement time, with the same functions the counters use. ON CONFLICT on the request
 * id key makes a replay a no-op; rows already present are returned as they were first written.
 * Input is sorted by request id so concurrent batches take unique-index locks in one order (no deadlock).
 */
export type LedgerWriteResult = { inserted: boolean; row: LedgerRow & { user_id: string } };

/**
 * The settlement as Postgres will store it: lone UTF-16 surrogates in its text become U+FFFD — what pg's UTF-8
 * encoding of a text parameter did — because Postgres's JSON parser refuses them (a model name from a client's
 * JSON may hold one). The same object when there is nothing to change (the usual case).
 */
function storable(s: Settlement): Settlement {
  const texts = [s.requestId, s.userId, s.model, s.conversationId ?? '', s.messageId ?? ''];
  if (texts.every(isWellFormed)) return s;
  const wf = (v: string | null | undefined) => (v == null ? v : toWellFormed(v));
  return {
    ...s,
    requestId: toWellFormed(s.requestId),
    userId: toWellFormed(s.userId),
    model: toWellFormed(s.model),
    conversationId: wf(s.conversationId),
    messageId: wf(s.messageId),
  };
}

/**
 * The INSERT of insertLedgerRows as text + values. The rows travel as ONE json parameter (json_to_recordset):
 * JSON.stringify is native, where 13 text[] parameters cost pg an escapeElement (two regex replaces) per value —
 * with parsing the RETURNING rows, ~40 % of Node's time on a 500-row batch (bench:quota ingest profile).
 * The plan (hence the period kind) is looked up once per distinct user of the batch, not once per row.
 * Times travel as epoch milliseconds. Rows already present are not returned here: the caller reads them
 * afterwards (see collectLedgerResults).
 */
export function ledgerInsertQuery(rows: Settlement[], tz: string): { text: string; values: unknown[]; sorted: Settlement[] } {
  const sorted = rows.map(storable).sort((a, b) => (a.requestId < b.requestId ? -1 : a.requestId > b.requestId ? 1 : 0));
  const json = JSON.stringify(
    sorted.map((s, o) => ({
      r: s.requestId,
      u: s.userId,
      m: s.model,
      p: s.promptTokens,
      c: s.completionTokens,
      w: s.weightedTokens,
      k: s.cost,
      s: s.source,
      e: s.estimated,
      cv: s.conversationId ?? null,
      mi: s.messageId ?? null,
      x: s.context ?? null,
      t: Math.round(s.occurredAt),
      o,
    })),
  );
  return {
    sorted,
    text: `WITH input AS (
       SELECT * FROM json_to_recordset($1::json)
         AS t(r text, u text, m text, p bigint, c bigint, w bigint, k numeric, s text, e boolean, cv text, mi text, x text, t bigint, o integer)
     ), kinds AS (
       -- solaris_effective_plan as one set-based join (own plan, else the role's, else the default): a call per
       -- distinct user of the batch was three index probes each, up to 500 times per statement.
       SELECT x.u, COALESCE(pl.period, 'month') AS kind
       FROM (SELECT DISTINCT u FROM input) x
       LEFT JOIN user_quotas uq ON uq.user_id = x.u
       LEFT JOIN users_cache c ON c.user_id = x.u
       LEFT JOIN role_plans rp ON rp.role = c.role
       LEFT JOIN plans pl ON pl.id = COALESCE(uq.plan_id, rp.plan_id, (SELECT d.id FROM plans d WHERE d.is_default LIMIT 1))
     ), first AS (
       -- One row per request id (its first in the batch): a batch may carry the same id twice.
       SELECT DISTINCT ON (i.r) i.* FROM input i ORDER BY i.r, i.o
     ), keys AS (
       -- Idempotency across the monthly partitions (docs/ledger-partitions.md): the key decides, in request id
       -- order so concurrent batches take its unique index's locks in one order (no deadlock). A replay, whatever
       -- its month, inserts no key and so no row.
       INSERT INTO ledger_request_ids (request_id, created_at)
       SELECT f.r, to_timestamp(f.t / 1000.0) FROM first f ORDER BY f.r
       ON CONFLICT (request_id) DO NOTHING
       RETURNING request_id, seq, created_at
     )
     INSERT INTO ledger (seq, request_id, user_id, model, prompt_tokens, completion_tokens, total_tokens, weighted_tokens, cost,
                         source, estimated, conversation_id, message_id, period_key, created_at, context)
     SELECT ky.seq, i.r, i.u, i.m, i.p, i.c, i.p + i.c, i.w, i.k, i.s, i.e, i.cv, i.mi,
            solaris_period_key(k.kind, ky.created_at, $2), ky.created_at, i.x
     FROM keys ky JOIN first i ON i.r = ky.request_id JOIN kinds k ON k.u = i.u
     -- Only what Postgres decided; the rest of each row is the input (see insertLedgerRows).
     RETURNING seq, request_id, period_key, cost`,
    values: [json, tz],
  };
}

/**
 * Maps the rows the INSERT returned (inserted) and reads the ones it skipped (ON CONFLICT: already in the
 * ledger, possibly committed by a concurrent transaction) as they were first written.
 */
export async function collectLedgerResults(
  db: Queryable,
  inserted: Array<LedgerRow & { user_id: string }>,
  sorted: Settlement[],
): Promise<Map<string, LedgerWriteResult>> {
  const result = new Map<string, LedgerWriteResult>();
  for (const r of inserted) result.set(r.request_id, { inserted: true, row: r });
  const missing = [...new Set(sorted.filter((s) => !result.has(s.requestId)).map((s) => s.requestId))];
  if (missing.length) {
    // Through the key: its (created_at, seq) finds the row in its month's partition.
    const { rows: existing } = await db.query<LedgerRow & { user_id: string }>(
      `SELECT l.* FROM ledger_request_ids k CROSS JOIN LATERAL (
         SELECT ${LEDGER_COLUMNS}, user_id FROM ledger WHERE created_at = k.created_at AND seq = k.seq) l
       WHERE k.request_id = ANY($1::text[])`,
      [missing],
    );
    for (const r of existing) result.set(r.request_id, { inserted: false, row: r });
  }
  return result;
}

/**
 * Inserts settlements, returning for each whether it was new. The period key is derived in SQL from the
 * user's plan and the settlement time, with the same functions the counters use. ON CONFLICT on
 * request_id makes a replay a no-op; rows already present are returned as they were first written.
 * Input is sorted by request id so concurrent batches take unique-index locks in one order (no deadlock).
 */
export async function insertLedgerRows(db: Queryable, rows: Settlement[], tz: string): Promise<Map<string, LedgerWriteResult>> {
  const q = ledgerInsertQuery(rows, tz);
  // A named statement: each connection parses and plans it once (planning cost more than running a small batch).
  const { rows: out } = await db.query<{ seq: string; request_id: string; period_key: string; cost: string }>({
    name: 'solaris_ledger_insert_json',
    text: q.text,
    values: q.values,
  });
  // Inserted rows are the input plus what Postgres decided (settledRow); times as stored (rounded to the ms).
  const first = new Map<string, Settlement>();
  for (const s of q.sorted) if (!first.has(s.requestId)) first.set(s.requestId, s);
  const inserted = out.map((r) => {
    const s = first.get(r.request_id)!;
    return settledRow(s, { seq: Number(r.seq), cost: Number(r.cost), periodKey: r.period_key }, new Date(Math.round(s.occurredAt)));
  });
  return collectLedgerResults(db, inserted, q.sorted);
}

interface Waiter {
  s: Settlement;
  resolve: (v: { inserted: boolean; row: LedgerRow & { user_id: string } }) => void;
  reject: (e: unknown) => void;
}

export interface LedgerWriterOptions {
  /** Rows per INSERT (default 500). */
  maxBatch?: number;
  /** Wait this long for more rows before a batch (default 0: the rows of this event-loop turn). */
  maxWaitMs?: number;
  /**
   * Batches of any size in flight at once (default 1). One keeps each process's rows in the order they were
   * written: a batch takes its seqs only after the previous one committed, and readers by seq (the plugin's
   * tests, the counter rebuild's "newest" rows) see that order. More did not shorten the ledger-ack tail on
   * the test box: it is the commit itself, and concurrent commits queue on the WAL flush instead
   * (bench/README.md, "Session 9: ledger ack").
   */
  batchesInFlight?: number;
  /** Batches in flight when a full batch waits (default 2: ingest floods use two connections). */
  maxConcurrentBatches?: number;
  /**
   * With maxWaitMs 0: a write that finds a free slot and nothing queued starts its INSERT at once instead of
   * after the rest of the event-loop turn (default false: the rows of one turn, e.g. a LibreChat turn's
   * prompt and completion, share one INSERT).
   */
  startAtOnce?: boolean;
}

/**
 * Group-commits ledger rows: settlements arriving in the same event-loop turn (or within `maxWaitMs` when set),
 * or while the batch in flight commits, share one multi-row INSERT (single-row inserts top out near 5.6k rows/s
 * here, 500-row batches at 30–55k rows/s). Each caller's promise resolves only after its batch committed — the
 * settlement is durable then. Concurrent batches (options, other replicas) are safe: idempotency is the
 * ledger_request_ids key (ON CONFLICT, keys taken in request id order, so no deadlock).
 */
export class LedgerWriter {
  private queue: Waiter[] = [];
  private timer: NodeJS.Timeout | NodeJS.Immediate | null = null;
  private inFlight = 0;

  constructor(
    private readonly pool: pg.Pool,
    private readonly tz: string,
    private readonly opts: LedgerWriterOptions = {},
  ) {}

  write(s: Settlement): Promise<{ inserted: boolean; row: LedgerRow & { user_id: string } }> {
    return new Promise((resolve, reject) => {
      this.queue.push({ s, resolve, reject });
      if (this.queue.length >= (this.opts.maxBatch ?? 500)) this.flush();
      else if (this.queue.length === 1 && this.startsAtOnce() && this.inFlight < this.slots(false)) this.flush();
      else if (!this.timer) this.schedule();
    });
  }

  private slots(full: boolean): number {
    const any = Math.max(1, this.opts.batchesInFlight ?? 1);
    return full ? Math.max(any, this.opts.maxConcurrentBatches ?? 2) : any;
  }

  private startsAtOnce(): boolean {
    return (this.opts.maxWaitMs ?? 0) <= 0 && this.opts.startAtOnce === true;
  }

  /**
   * Default (maxWaitMs 0): flush once the current event-loop turn has queued what it had — no fixed wait, so a
   * lone settle pays one round trip; under load the rows that pile up while a batch is in flight form the next,
   * bigger batch (on 2 cores shared with Postgres one bigger batch beat 4 small ones, 7.7k vs 6.1k
   * reserve+settle decisions/s).
   */
  private schedule(): void {
    const wait = this.opts.maxWaitMs ?? 0;
    this.timer = wait > 0 ? setTimeout(() => this.flush(), wait) : setImmediate(() => this.flush());
  }

  private clearTimer(): void {
    if (!this.timer) return;
    if ((this.opts.maxWaitMs ?? 0) > 0) clearTimeout(this.timer as NodeJS.Timeout);
    else clearImmediate(this.timer as NodeJS.Immediate);
    this.timer = null;
  }

  private flush(): void {
    this.clearTimer();
    const max = this.opts.maxBatch ?? 500;
    // Every slot busy: back-pressure, the queue grows into a bigger batch; the next batch to finish flushes it.
    while (this.queue.length && this.inFlight < this.slots(this.queue.length >= max)) {
      const batch = this.queue.splice(0, max);
      this.inFlight++;
      void this.run(batch).finally(() => {
        this.inFlight--;
        // Rows that waited for this slot go now; a pending linger (maxWaitMs, or the turn) still gathers.
        if (this.queue.length && (!this.timer || this.startsAtOnce())) this.flush();
      });
    }
  }

  private async run(batch: Waiter[]): Promise<void> {
    try {
      const results = await insertLedgerRows(this.pool, batch.map((w) => w.s), this.tz);
      const claimed = new Set<string>();
      for (const w of batch) {
        const r = results.get(w.s.requestId);
        if (!r) {
          w.reject(new Error(`ledger row ${w.s.requestId} neither inserted nor found`));
          continue;
        }
        // Two waiters with one id in the same batch: only the first sees `inserted`.
        const inserted = r.inserted && !claimed.has(w.s.requestId);
        claimed.add(w.s.requestId);
        w.resolve({ inserted, row: r.row });
      }
    } catch (e) {
      // Postgres cannot be reached: every row of the batch fails the same way, at once (the callers move them
      // to the outbox). Row by row would be 500 more failed connects per batch while it is down.
      if (batch.length === 1 || isPostgresUnavailable(e)) {
        for (const w of batch) w.reject(e);
        return;
      }
      // One bad row must not fail its neighbours: retry each alone.
      await Promise.all(
        batch.map(async (w) => {
          try {
            const r = await insertLedgerRows(this.pool, [w.s], this.tz);
            w.resolve(r.get(w.s.requestId)!);
          } catch (err) {
            w.reject(err);
          }
        }),
      );
    }
  }

  /** Waits until every queued row is written. */
  async drain(): Promise<void> {
    while (this.queue.length || this.inFlight) {
      if (this.queue.length && !this.timer && this.inFlight === 0) this.flush();
      await new Promise((r) => setTimeout(r, 2));
    }
  }
}

// The statement (read side) is core/statement.ts.
