import type pg from 'pg';
import type { LedgerEntryDTO, MeteringSource, StatementPageDTO, StatementQuery } from '@solaris/wire';
import type { Settlement } from './quota-store';
import type { Queryable } from './sql';
import { z } from 'zod';
import { invalid } from './errors';
import { parseWith } from './validation';
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
 * user's plan and the settlement time, with the same functions the counters use. ON CONFLICT on
 * request_id makes a replay a no-op; rows already present are returned as they were first written.
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
      t: Math.round(s.occurredAt),
      o,
    })),
  );
  return {
    sorted,
    text: `WITH input AS (
       SELECT * FROM json_to_recordset($1::json)
         AS t(r text, u text, m text, p bigint, c bigint, w bigint, k numeric, s text, e boolean, cv text, mi text, t bigint, o integer)
     ), kinds AS (
       -- solaris_effective_plan as one set-based join (own plan, else the role's, else the default): a call per
       -- distinct user of the batch was three index probes each, up to 500 times per statement.
       SELECT x.u, COALESCE(pl.period, 'month') AS kind
       FROM (SELECT DISTINCT u FROM input) x
       LEFT JOIN user_quotas uq ON uq.user_id = x.u
       LEFT JOIN users_cache c ON c.user_id = x.u
       LEFT JOIN role_plans rp ON rp.role = c.role
       LEFT JOIN plans pl ON pl.id = COALESCE(uq.plan_id, rp.plan_id, (SELECT d.id FROM plans d WHERE d.is_default LIMIT 1))
     )
     INSERT INTO ledger (request_id, user_id, model, prompt_tokens, completion_tokens, total_tokens, weighted_tokens, cost,
                         source, estimated, conversation_id, message_id, period_key, created_at)
     SELECT i.r, i.u, i.m, i.p, i.c, i.p + i.c, i.w, i.k, i.s, i.e, i.cv, i.mi,
            solaris_period_key(k.kind, to_timestamp(i.t / 1000.0), $2), to_timestamp(i.t / 1000.0)
     FROM input i JOIN kinds k ON k.u = i.u
     -- The joins may reorder rows: keep the batch order (request id order), so seq follows it and concurrent
     -- batches take the unique index's locks in the same order.
     ORDER BY i.o
     ON CONFLICT (request_id) DO NOTHING
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
    const { rows: existing } = await db.query<LedgerRow & { user_id: string }>(
      `SELECT ${LEDGER_COLUMNS}, user_id FROM ledger WHERE request_id = ANY($1::text[])`,
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

/**
 * Group-commits ledger rows: settlements arriving in the same event-loop turn (or within `maxWaitMs` when
 * set), or while earlier batches are in flight (up to `maxBatch`), share one
 * multi-row INSERT (single-row inserts top out near 5.6k rows/s here, 500-row batches at 30–55k rows/s).
 * Each caller's promise resolves only after its batch committed — the settlement is durable then.
 */
export class LedgerWriter {
  private queue: Waiter[] = [];
  private timer: NodeJS.Timeout | NodeJS.Immediate | null = null;
  private inFlight = 0;

  constructor(
    private readonly pool: pg.Pool,
    private readonly tz: string,
    private readonly opts: { maxBatch?: number; maxWaitMs?: number; maxConcurrentBatches?: number } = {},
  ) {}

  write(s: Settlement): Promise<{ inserted: boolean; row: LedgerRow & { user_id: string } }> {
    return new Promise((resolve, reject) => {
      this.queue.push({ s, resolve, reject });
      if (this.queue.length >= (this.opts.maxBatch ?? 500)) this.flush();
      else if (!this.timer) this.schedule();
    });
  }

  /**
   * Default (maxWaitMs 0): flush once the current event-loop turn has queued what it had — no fixed wait, so
   * a lone settle pays one round trip; under load the rows that pile up while batches are in flight (at most
   * one, or maxConcurrentBatches (default 2) when a full batch waits: on 2 cores shared with Postgres one
   * bigger batch beat 4 small ones, 7.7k vs 6.1k reserve+settle decisions/s) form the next, bigger batch.
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
    if (this.queue.length === 0) return;
    // One batch in flight while the queue is short (rows pile up into one bigger, cheaper batch); a full
    // batch waiting may go out beside it, up to maxConcurrentBatches (ingest floods use two connections).
    const full = this.queue.length >= (this.opts.maxBatch ?? 500);
    if (this.inFlight >= (full ? (this.opts.maxConcurrentBatches ?? 2) : 1)) {
      // Back-pressure: the queue grows into a bigger batch; the next batch to finish flushes it.
      return;
    }
    const batch = this.queue.splice(0, this.opts.maxBatch ?? 500);
    this.inFlight++;
    void this.run(batch).finally(() => {
      this.inFlight--;
      if (this.queue.length && !this.timer) this.flush();
    });
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

// ---------- statement (keyset pagination) ----------

interface Cursor {
  t: string; // created_at as Postgres text (full precision)
  s: number; // seq
}

export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

const CURSOR_TIME = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([+-]\d{2}(:\d{2}){0,2}|Z)?$/;

export function decodeCursor(raw: string): Cursor {
  try {
    const v = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as Partial<Cursor>;
    // Strict timestamptz text (what `created_at::text` gives): Date.parse alone accepts junk like "' OR 1=1".
    if (typeof v.t === 'string' && v.t.length < 64 && CURSOR_TIME.test(v.t) && Number.isSafeInteger(v.s) && !Number.isNaN(Date.parse(v.t))) return v as Cursor;
  } catch {
    /* fall through */
  }
  throw invalid('cursor is not valid; use the nextCursor value of the previous page');
}

function statementWhere(userId: string, q: StatementQuery, params: unknown[]): string {
  params.push(userId);
  const where = [`user_id = $${params.length}`];
  if (q.period) {
    params.push(q.period);
    where.push(`period_key = $${params.length}`);
  }
  if (q.model) {
    params.push(q.model);
    where.push(`model = $${params.length}`);
  }
  if (q.conversationId) {
    params.push(q.conversationId);
    where.push(`conversation_id = $${params.length}`);
  }
  if (q.from) {
    params.push(q.from);
    where.push(`created_at >= $${params.length}::timestamptz`);
  }
  if (q.to) {
    params.push(q.to);
    where.push(`created_at < $${params.length}::timestamptz`);
  }
  return where.join(' AND ');
}

/** One page of a user's statement, newest first, with each row's balance after it (within its period). */
const isoDate = z.string().max(64).refine((v) => !Number.isNaN(Date.parse(v)), 'must be an ISO date or date-time');
const statementQuerySchema = z.object({
  cursor: z.string().max(200).optional(),
  limit: z.number().int('limit must be a whole number').min(1).max(200).optional(),
  period: z.string().max(20).optional(),
  model: z.string().max(200).optional(),
  conversationId: z.string().max(200).optional(),
  from: isoDate.optional(),
  to: isoDate.optional(),
});

/**
 * Named statements, one per query text (the text depends only on which filters are set and whether a cursor
 * is: at most 96 texts), so each pool connection parses and plans a statement query once instead of on every
 * call: the page + balance-after text took ~0.5–0.8 ms longer per call unnamed (bench:statement, 2026-11-27).
 */
const statementNames = new Map<string, string>();
function named(text: string, values: unknown[]): pg.QueryConfig {
  let name = statementNames.get(text);
  if (name === undefined) {
    name = `solaris_statement_${statementNames.size}`;
    statementNames.set(text, name);
  }
  return { name, text, values };
}

/**
 * One page of a user's statement as the JSON text of a StatementPageDTO, built by Postgres: the HTTP API sends
 * it as it comes, so Node neither parses nor re-serialises 50 rows (bench:statement: that was about a third of
 * the garbage per request, and garbage is what puts young-generation pauses into the p99).
 *
 * `currentLimit` may be a promise (the counter read): the totals query and the counter read travel at the same
 * time; the page query, which needs the limit for each row's balance-after, goes as soon as the counter answers.
 */
export async function readStatementJson(
  db: Queryable,
  userId: string,
  query: StatementQuery,
  currentLimit: number | Promise<number>,
): Promise<string> {
  const limitP = Promise.resolve(currentLimit);
  limitP.catch(() => undefined); // awaited below; a validation error must not leave it unhandled
  // Adapters validate too; the core never lets a bad value reach SQL as a raw Postgres error.
  const q = parseWith(statementQuerySchema, query);
  const limit = q.limit ?? 50;
  const params: unknown[] = [];
  const where = statementWhere(userId, q, params);
  const whereParams = params.length;
  let keyset = '';
  if (q.cursor) {
    const c = decodeCursor(q.cursor);
    params.push(c.t, c.s);
    keyset = ` AND (created_at, seq) < ($${params.length - 1}::timestamptz, $${params.length})`;
  }
  params.push(limit + 1);
  // SQLSTATE class 22 (data exception, e.g. 2026-02-30 in a cursor or a date): the caller's value, not our bug.
  const dataError = (e: unknown): never => {
    if (typeof (e as { code?: unknown }).code === 'string' && (e as { code: string }).code.startsWith('22')) {
      throw invalid(q.cursor ? 'cursor is not valid; use the nextCursor value of the previous page' : 'a date filter is not a valid date');
    }
    throw e;
  };
  // The totals of the whole filter, on a second connection at the same time (they use only the filter's
  // parameters, which come first).
  const totalsP = db
    .query<TotalsRow>(
      named(
        `SELECT count(*)::int AS requests, COALESCE(sum(prompt_tokens),0) AS p, COALESCE(sum(completion_tokens),0) AS c,
              COALESCE(sum(weighted_tokens),0) AS w, COALESCE(sum(cost),0) AS cost FROM ledger WHERE ${where}`,
        params.slice(0, whereParams),
      ),
    )
    .catch(dataError);
  totalsP.catch(() => undefined); // awaited below, after the page
  const n = params.length; // $n = limit + 1
  params.push(await limitP); // $n+1: the current limit (limits are not versioned)
  // The page (limit + 1 rows, to know whether a next page exists) and each row's balance-after in one round
  // trip. Each item is a LedgerEntryDTO, keys in wire order (json_agg of a row record is compact JSON);
  // createdAt is ISO-8601 UTC truncated to the millisecond (as Date#toISOString of the stored time); cost as
  // float8 prints the shortest text that reads back as the same double (what JSON.stringify prints).
  const result = await db
    .query<{ items: string | null; more: boolean; cursor_t: string | null; cursor_s: string | null }>(
      named(
        `WITH page AS (
           SELECT ${LEDGER_COLUMNS}, created_at::text AS created_text FROM ledger
           WHERE ${where}${keyset} ORDER BY created_at DESC, seq DESC LIMIT $${n}
         ), ${BALANCE_AFTER_CTES}, ordered AS (
           SELECT page.*, y.used_through,
                  (SELECT COALESCE(sum(tokens), 0) FROM adj WHERE adj.kind = 'grant' AND adj.period_key = page.period_key
                     AND adj.created_at <= page.created_at) AS granted_then,
                  row_number() OVER (ORDER BY page.created_at DESC, page.seq DESC) AS rn
           FROM page JOIN y USING (seq)
         )
         SELECT
           (SELECT json_agg((SELECT e FROM (SELECT o.seq::text AS "id", o.request_id AS "requestId",
                     to_char(o.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "createdAt", o.model,
                     o.prompt_tokens AS "promptTokens", o.completion_tokens AS "completionTokens", o.total_tokens AS "totalTokens",
                     o.weighted_tokens AS "weightedTokens", o.cost::float8 AS cost, o.source, o.estimated,
                     o.conversation_id AS "conversationId", o.message_id AS "messageId", o.period_key AS "periodKey",
                     $${n + 1}::numeric + o.granted_then - o.used_through AS "balanceAfter") e) ORDER BY o.rn)::text
            FROM ordered o WHERE o.rn < $${n}) AS items,
           EXISTS (SELECT 1 FROM ordered WHERE rn = $${n}) AS more,
           (SELECT created_text FROM ordered WHERE rn = $${n} - 1) AS cursor_t,
           (SELECT seq::text FROM ordered WHERE rn = $${n} - 1) AS cursor_s`,
        params,
      ),
    )
    .catch(dataError);
  const r = result.rows[0]!;
  const nextCursor = r.more && r.cursor_t !== null ? encodeCursor({ t: r.cursor_t, s: Number(r.cursor_s) }) : null;
  const t = (await totalsP).rows[0]!;
  const totals: StatementPageDTO['totals'] = {
    requests: t.requests, promptTokens: Number(t.p), completionTokens: Number(t.c), weightedTokens: Number(t.w), cost: Number(t.cost),
  };
  return `{"items":${r.items ?? '[]'},"nextCursor":${JSON.stringify(nextCursor)},"totals":${JSON.stringify(totals)}}`;
}
type TotalsRow = { requests: number; p: string; c: string; w: string; cost: string };

/**
 * Balance after each row of `page` (a CTE of the caller): grants made in the period up to the row, minus the
 * usage of the row's reset group (the rows of its period after the last reset before it) up to the row.
 * $1 is the user id. Output: `y(seq, used_through)`.
 *
 * Cost: used-through = the group's total minus what came after the row in the group. The total is one
 * index-only sum per group (no sort); "what came after" is a window over the rows from the page's oldest row
 * onwards only. A window over the whole period (sort + a reset lookup per row) cost 45 ms for a user with
 * 20,000 rows in the month; bench/README.md has the figures.
 * Groups: a row belongs to the group of the resets strictly before it (a reset at the very instant of a
 * row starts after it), i.e. the rows l with g_from < l.created_at <= g_to, where g_from is the last reset
 * before the page row and g_to the first reset at or after it.
 */
const BALANCE_AFTER_CTES = `adj AS (
         SELECT kind, tokens, period_key, created_at FROM adjustments
         WHERE user_id = $1 AND period_key IN (SELECT period_key FROM page)
       ), oldest AS (
         SELECT DISTINCT ON (period_key) period_key, created_at, seq FROM page ORDER BY period_key, created_at, seq
       ), r AS (
         SELECT l.seq, l.period_key, l.created_at, l.weighted_tokens,
                (SELECT count(*) FROM adj WHERE adj.kind = 'reset' AND adj.period_key = l.period_key AND adj.created_at < l.created_at) AS grp
         FROM oldest o, LATERAL (
           SELECT seq, period_key, created_at, weighted_tokens FROM ledger
           WHERE user_id = $1 AND (created_at, seq) >= (o.created_at, o.seq) AND period_key = o.period_key
         ) l
       ), newer AS (
         SELECT seq, COALESCE(sum(weighted_tokens) OVER (PARTITION BY period_key, grp ORDER BY created_at DESC, seq DESC
                                                          ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS after_row
         FROM r
       ), bounds AS (
         SELECT p.seq, p.period_key,
                (SELECT max(a.created_at) FROM adj a WHERE a.kind = 'reset' AND a.period_key = p.period_key AND a.created_at < p.created_at) AS g_from,
                (SELECT min(a.created_at) FROM adj a WHERE a.kind = 'reset' AND a.period_key = p.period_key AND a.created_at >= p.created_at) AS g_to
         FROM page p
       ), totals AS MATERIALIZED (
         SELECT g.period_key, g.g_from, g.g_to,
                (SELECT COALESCE(sum(l.weighted_tokens), 0) FROM ledger l
                 WHERE l.user_id = $1 AND l.period_key = g.period_key
                   AND (g.g_from IS NULL OR l.created_at > g.g_from) AND (g.g_to IS NULL OR l.created_at <= g.g_to)) AS total
         FROM (SELECT DISTINCT period_key, g_from, g_to FROM bounds) g
       ), y AS (
         SELECT b.seq, t.total - n.after_row AS used_through
         FROM bounds b
         JOIN totals t ON t.period_key = b.period_key AND t.g_from IS NOT DISTINCT FROM b.g_from AND t.g_to IS NOT DISTINCT FROM b.g_to
         JOIN newer n ON n.seq = b.seq
       )`;
