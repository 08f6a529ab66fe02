import type pg from 'pg';
import type { StatementPageDTO, StatementQuery } from '@solaris/wire';
import type { Queryable } from './sql';
import { z } from 'zod';
import { invalid } from './errors';
import { parseWith } from './validation';

/**
 * The statement as an account (docs/architecture.md, "Statement page"). The balance is a function of time:
 *   capacity(t) − used(t), capacity = base limit + active grants (bounded by the personal cap), where the base
 *   limit and cap are the version of limit_versions in force at t, the grants those of the period made up to t
 *   and not expired, and used the period's ledger rows after the last reset up to t.
 * Every instant where it changes is a line: usage (ledger rows), grants, grant expiries, resets, limit/plan
 * changes, and the opening of each period. Lines are totally ordered by (time, rank, id): at one instant a
 * period opens first, then limit changes, grants, expiries, usage, resets (a reset at a row's very instant
 * comes after it, as the counter's rule says: only rows strictly after a reset count). A line's balanceAfter is
 * the function evaluated just after it; its amount is the difference with just before it (usage: −weighted;
 * a period's opening: its whole starting balance). The page's account (the summary) is the same function at
 * now, for the current period — what the counter holds.
 */

const RANK = { period_start: 0, limit: 1, grant: 2, grant_expiry: 3, usage: 4, reset: 5 } as const;

/**
 * A period's rows lie within its bounds, in the time zone their key was computed in: the bounds in today's zone,
 * widened by two days (more than any two zones differ), are redundant for the result but let Postgres skip the
 * ledger's other monthly partitions (docs/ledger-partitions.md).
 */
const PERIOD_SLACK = `interval '2 days'`;

interface Cursor {
  t: string; // line time as Postgres text (full precision)
  s: number; // id within its kind (ledger seq, adjustment id, limit version seq)
  r?: number; // rank (absent in cursors of the usage-only statement: usage)
  p?: string | null; // period of the line (its period's opening may follow on the next page)
}

export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

const CURSOR_TIME = /^(-?infinity|\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([+-]\d{2}(:\d{2}){0,2}|Z)?)$/;
const PERIOD_KEY = /^\d{4}-(\d{2}|W\d{2}|\d{2}-\d{2})$/;

export function decodeCursor(raw: string): Required<Cursor> {
  try {
    const v = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as Partial<Cursor>;
    const r = v.r ?? RANK.usage;
    const p = v.p ?? null;
    // Strict timestamptz text (what `at::text` gives): Date.parse alone accepts junk like "' OR 1=1".
    if (
      typeof v.t === 'string' && v.t.length < 64 && CURSOR_TIME.test(v.t) && !Number.isNaN(Date.parse(v.t)) &&
      Number.isSafeInteger(v.s) && Number.isInteger(r) && r >= 0 && r <= 5 && (p === null || (typeof p === 'string' && PERIOD_KEY.test(p)))
    ) {
      return { t: v.t, s: v.s!, r, p };
    }
  } catch {
    /* fall through */
  }
  throw invalid('cursor is not valid; use the nextCursor value of the previous page');
}

const isoDate = z.string().max(64).refine((v) => !Number.isNaN(Date.parse(v)), 'must be an ISO date or date-time');
const statementQuerySchema = z.object({
  cursor: z.string().max(300).optional(),
  limit: z.number().int('limit must be a whole number').min(1).max(200).optional(),
  period: z.string().max(20).optional(),
  model: z.string().max(200).optional(),
  conversationId: z.string().max(200).optional(),
  from: isoDate.optional(),
  to: isoDate.optional(),
});

/**
 * Named statements, one per query text (the text depends only on which filters are set and whether a cursor
 * is), so each pool connection parses and plans a statement query once instead of on every call.
 */
const statementNames = new Map<string, string>();
function named(text: string, values: unknown[]): pg.QueryConfig {
  let name = statementNames.get(text);
  if (name === undefined) {
    name = `solaris_account_${statementNames.size}`;
    statementNames.set(text, name);
  }
  return { name, text, values };
}

/** WHERE of the usage lines (ledger rows); $1 is the user. Also the filter of the totals. */
function ledgerWhere(q: StatementQuery, params: unknown[]): string {
  const where = [`user_id = $1`];
  const add = (v: unknown, sql: (n: number) => string) => {
    params.push(v);
    where.push(sql(params.length));
  };
  if (q.period) add(q.period, (n) => `period_key = $${n}`);
  if (q.model) add(q.model, (n) => `model = $${n}`);
  if (q.conversationId) add(q.conversationId, (n) => `conversation_id = $${n}`);
  if (q.from) add(q.from, (n) => `created_at >= $${n}::timestamptz`);
  if (q.to) add(q.to, (n) => `created_at < $${n}::timestamptz`);
  return where.join(' AND ');
}

/**
 * Stamps the changes of this transaction with the engine's clock: the limit_versions triggers read it
 * (solaris_now()), as ledger rows and adjustments carry the engine's time. Call it inside the transaction.
 */
export const CHANGE_TIME_SQL = `SELECT set_config('solaris.now', $1, true)`;
export const changeTimeValues = (ms: number): [string] => [new Date(ms).toISOString()];

export interface StatementContext {
  /** The engine clock (ms): expiries up to it have happened, and it decides the current period. */
  now: number;
  /** SOLARIS_TIMEZONE. */
  timeZone: string;
}

/**
 * One page of a user's statement (newest first, keyset-paged) as the JSON text of a StatementPageDTO, built by
 * Postgres: the HTTP API sends it as it comes. The totals of the filter run on a second connection meanwhile.
 */
export async function readStatementJson(db: Queryable, userId: string, query: StatementQuery, ctx: StatementContext): Promise<string> {
  // Adapters validate too; the core never lets a bad value reach SQL as a raw Postgres error.
  const q = parseWith(statementQuerySchema, query);
  const limit = q.limit ?? 50;
  const params: unknown[] = [userId];
  const where = ledgerWhere(q, params);
  const whereParams = params.length;
  // SQLSTATE class 22 (data exception, e.g. 2026-02-30 in a cursor or a date): the caller's value, not our bug.
  const dataError = (e: unknown): never => {
    if (typeof (e as { code?: unknown }).code === 'string' && (e as { code: string }).code.startsWith('22')) {
      throw invalid(q.cursor ? 'cursor is not valid; use the nextCursor value of the previous page' : 'a date filter is not a valid date');
    }
    throw e;
  };
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

  const p = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  const now = p(new Date(ctx.now));
  const tz = p(ctx.timeZone);
  const shown = p(q.period ?? null); // the account's period: the filter's, else the current one
  let ledgerKeyset = '';
  let otherKeyset = '';
  let cursorPeriod = 'NULL::text';
  if (q.cursor) {
    const c = decodeCursor(q.cursor);
    const [t, r, s] = [p(c.t), p(c.r), p(c.s)];
    ledgerKeyset = ` AND created_at <= ${t}::timestamptz AND (created_at, 4, seq) < (${t}::timestamptz, ${r}::int, ${s}::bigint)`;
    otherKeyset = ` AND (o.at, o.rank, o.id) < (${t}::timestamptz, ${r}::int, ${s}::bigint)`;
    cursorPeriod = `${p(c.p)}::text`;
  }
  const n = p(limit + 1);
  // Other lines than usage exist only in an unfiltered view of the account (or one narrowed by period or time).
  const usageOnly = q.model !== undefined || q.conversationId !== undefined;
  const otherWhere: string[] = [];
  if (q.period) otherWhere.push(`o.period_key = ${shown}`);
  if (q.from) otherWhere.push(`o.at >= ${p(q.from)}::timestamptz`);
  if (q.to) otherWhere.push(`o.at < ${p(q.to)}::timestamptz`);
  const otherFilter = (usageOnly ? ['false'] : otherWhere).map((w) => ` AND ${w}`).join('') + otherKeyset;

  const text = `WITH cur AS MATERIALIZED (
       SELECT s.plan_id, s.base_lim, s.personal_cap, solaris_period_key(s.period_kind, ${now}::timestamptz, ${tz}) AS pk
       FROM solaris_limit_state(ARRAY[$1::text]) s
     ), page_l AS (
       SELECT seq, request_id, created_at, model, prompt_tokens, completion_tokens, total_tokens, weighted_tokens, cost, source,
              estimated, conversation_id, message_id, period_key, context FROM ledger
       WHERE ${where}${ledgerKeyset} ORDER BY created_at DESC, seq DESC LIMIT ${n}
     ), adj AS MATERIALIZED (
       SELECT id, kind, tokens, period_key, reason, expires_at, created_at FROM adjustments WHERE user_id = $1
     ), ver AS MATERIALIZED (
       SELECT seq, valid_from, plan_id, period_kind, base_lim, personal_cap, cause,
              lag(base_lim) OVER w AS prev_lim, lag(plan_id) OVER w AS prev_plan
       FROM limit_versions WHERE user_id = $1 WINDOW w AS (ORDER BY valid_from, seq)
     ), others AS (
       SELECT 'grant'::text AS kind, a.created_at AS at, ${RANK.grant} AS rank, a.id, a.period_key FROM adj a WHERE a.kind = 'grant'
       UNION ALL
       -- An expiry after its period's end changes nothing: the grant ended with the period.
       SELECT 'grant_expiry', a.expires_at, ${RANK.grant_expiry}, a.id, a.period_key FROM adj a
       WHERE a.kind = 'grant' AND a.expires_at <= ${now}::timestamptz AND a.expires_at < solaris_key_end(a.period_key, ${tz})
       UNION ALL
       SELECT 'reset', a.created_at, ${RANK.reset}, a.id, a.period_key FROM adj a WHERE a.kind = 'reset'
       UNION ALL
       SELECT 'limit', v.valid_from, ${RANK.limit}, v.seq, solaris_period_key(v.period_kind, v.valid_from, ${tz}) FROM ver v
       WHERE v.cause <> 'baseline' AND v.valid_from > '-infinity'
     ), starts AS (
       SELECT 'period_start'::text AS kind, solaris_key_start(k.pk, ${tz}) AS at, ${RANK.period_start} AS rank, 0::bigint AS id, k.pk AS period_key
       FROM (SELECT period_key AS pk FROM page_l UNION SELECT period_key FROM others UNION SELECT pk FROM cur
             UNION SELECT ${cursorPeriod}) k
       WHERE k.pk IS NOT NULL AND solaris_key_start(k.pk, ${tz}) <= ${now}::timestamptz
     ), lines AS (
       SELECT 'usage'::text AS kind, created_at AS at, ${RANK.usage} AS rank, seq AS id, period_key FROM page_l
       UNION ALL
       SELECT o.* FROM (SELECT * FROM others UNION ALL SELECT * FROM starts) o WHERE true${otherFilter}
     ), page AS MATERIALIZED (
       SELECT l.*, row_number() OVER (ORDER BY l.at DESC, l.rank DESC, l.id DESC) AS rn
       FROM lines l ORDER BY l.at DESC, l.rank DESC, l.id DESC LIMIT ${n}
     ), acct AS (
       SELECT k.pk AS p, CASE WHEN k.pk = cur.pk THEN 'infinity'::timestamptz
                              ELSE LEAST(${now}::timestamptz, solaris_key_end(k.pk, ${tz}) - interval '1 microsecond') END AS at
       FROM cur, (SELECT COALESCE(${shown}::text, (SELECT pk FROM cur)) AS pk) k
     ), pts AS (
       -- Where the balance is evaluated: just after each line, just before each line that is not usage (its amount),
       -- and the account (rn 0).
       SELECT rn, 'a'::text AS side, period_key AS p, at, rank, id FROM page WHERE rn < ${n}
       UNION ALL
       SELECT rn, 'b', period_key, at, rank, id - 1 FROM page WHERE rn < ${n} AND kind NOT IN ('usage', 'period_start')
       UNION ALL
       SELECT 0, 'a', acct.p, acct.at, 9, 0 FROM acct
     ), ev AS (
       SELECT pt.*,
              CASE WHEN v.seq IS NULL THEN cur.base_lim ELSE v.base_lim END AS base_lim,
              CASE WHEN v.seq IS NULL THEN cur.personal_cap ELSE v.personal_cap END AS cap,
              (SELECT COALESCE(sum(a.tokens), 0) FROM adj a WHERE a.kind = 'grant' AND a.period_key = pt.p
                 AND (a.created_at, ${RANK.grant}, a.id) <= (pt.at, pt.rank, pt.id)
                 AND NOT (a.expires_at IS NOT NULL AND a.expires_at <= ${now}::timestamptz
                          AND (a.expires_at, ${RANK.grant_expiry}, a.id) <= (pt.at, pt.rank, pt.id)))::bigint AS granted,
              (SELECT max(a.created_at) FROM adj a WHERE a.kind = 'reset' AND a.period_key = pt.p
                 AND (a.created_at, ${RANK.reset}, a.id) <= (pt.at, pt.rank, pt.id)) AS g_from,
              (SELECT min(a.created_at) FROM adj a WHERE a.kind = 'reset' AND a.period_key = pt.p
                 AND (a.created_at, ${RANK.reset}, a.id) > (pt.at, pt.rank, pt.id)) AS g_to
       FROM pts pt CROSS JOIN cur
       LEFT JOIN LATERAL (SELECT * FROM ver WHERE (ver.valid_from, ${RANK.limit}, ver.seq) <= (pt.at, pt.rank, pt.id)
                          ORDER BY ver.valid_from DESC, ver.seq DESC LIMIT 1) v ON true
     ), oldest AS (
       SELECT p, min(at) AS from_at FROM pts GROUP BY p
     ), r AS (
       -- The period's rows from the oldest point on (the rows newer than a point are all here), and the points.
       SELECT l.period_key AS p, l.created_at AS at, ${RANK.usage} AS rank, l.seq AS id, l.weighted_tokens AS w, 0 AS is_pt,
              NULL::bigint AS rn, NULL::text AS side
       FROM oldest o, LATERAL (SELECT period_key, created_at, seq, weighted_tokens FROM ledger
                               WHERE user_id = $1 AND period_key = o.p AND created_at >= o.from_at
                                 AND created_at < solaris_key_end(o.p, ${tz}) + ${PERIOD_SLACK}
                               -- OFFSET 0: stays a scan per period (bounds known, other months pruned), not a hash
                               -- join over all the user's rows.
                               OFFSET 0) l
       UNION ALL
       SELECT p, at, rank, id, 0, 1, rn, side FROM pts
     ), newer AS (
       -- Per reset group (the next reset after the item), the usage newer than each point.
       SELECT x.rn, x.side, x.is_pt,
              COALESCE(sum(x.w) OVER (PARTITION BY x.p, x.g_to ORDER BY x.at DESC, x.rank DESC, x.id DESC, x.is_pt DESC
                                      ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS after_pt
       FROM (SELECT r.*, (SELECT min(a.created_at) FROM adj a WHERE a.kind = 'reset' AND a.period_key = r.p
                            AND (a.created_at, ${RANK.reset}, a.id) > (r.at, r.rank, r.id)) AS g_to FROM r) x
     ), grp AS MATERIALIZED (
       -- Each reset group's usage: one index-only sum per group.
       SELECT g.p, g.g_from, g.g_to,
              (SELECT COALESCE(sum(l.weighted_tokens), 0) FROM ledger l
               WHERE l.user_id = $1 AND l.period_key = g.p
                 AND l.created_at >= solaris_key_start(g.p, ${tz}) - ${PERIOD_SLACK} AND l.created_at < solaris_key_end(g.p, ${tz}) + ${PERIOD_SLACK}
                 AND (g.g_from IS NULL OR l.created_at > g.g_from) AND (g.g_to IS NULL OR l.created_at <= g.g_to)) AS total
       FROM (SELECT DISTINCT p, g_from, g_to FROM ev) g
     ), val AS (
       SELECT ev.rn, ev.side, ev.p, ev.granted, (grp.total - nw.after_pt)::bigint AS used,
              (CASE WHEN ev.cap IS NULL THEN ev.base_lim + ev.granted ELSE LEAST(ev.base_lim + ev.granted, ev.cap) END)::bigint AS capacity
       FROM ev
       JOIN grp ON grp.p = ev.p AND grp.g_from IS NOT DISTINCT FROM ev.g_from AND grp.g_to IS NOT DISTINCT FROM ev.g_to
       JOIN newer nw ON nw.is_pt = 1 AND nw.rn = ev.rn AND nw.side = ev.side
     )
     SELECT
       (SELECT json_agg(CASE WHEN pg.kind = 'usage' THEN
                 (SELECT to_json(e) FROM (SELECT 'usage' AS kind, l.seq::text AS "id", l.request_id AS "requestId",
                    to_char(l.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "createdAt", l.model,
                    l.prompt_tokens AS "promptTokens", l.completion_tokens AS "completionTokens", l.total_tokens AS "totalTokens",
                    l.weighted_tokens AS "weightedTokens", l.cost::float8 AS cost, l.source, l.estimated,
                    l.conversation_id AS "conversationId", l.message_id AS "messageId", l.period_key AS "periodKey",
                    l.context, -l.weighted_tokens AS amount, va.capacity - va.used AS "balanceAfter") e)
               ELSE
                 (SELECT to_json(e) FROM (SELECT pg.kind,
                    CASE WHEN pg.kind = 'period_start' THEN 'period:' || pg.period_key ELSE pg.kind || ':' || pg.id END AS "id",
                    to_char(pg.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "createdAt", pg.period_key AS "periodKey",
                    CASE WHEN pg.kind = 'period_start' THEN va.capacity - va.used
                         ELSE (va.capacity - va.used) - (vb.capacity - vb.used) END AS amount,
                    va.capacity - va.used AS "balanceAfter",
                    CASE WHEN pg.kind IN ('grant', 'grant_expiry') THEN a.tokens END AS tokens,
                    CASE WHEN pg.kind = 'limit' THEN v.cause ELSE a.reason END AS reason,
                    CASE WHEN pg.kind = 'limit' THEN v.prev_lim END AS "limitBefore",
                    CASE WHEN pg.kind = 'limit' THEN v.base_lim WHEN pg.kind = 'period_start' THEN va.capacity - va.granted END AS "limitAfter",
                    CASE WHEN pg.kind = 'limit' THEN v.plan_id END AS "planId") e)
               END ORDER BY pg.rn)::text
        FROM page pg
        JOIN val va ON va.rn = pg.rn AND va.side = 'a'
        LEFT JOIN val vb ON vb.rn = pg.rn AND vb.side = 'b'
        LEFT JOIN page_l l ON pg.kind = 'usage' AND l.seq = pg.id
        LEFT JOIN adj a ON pg.kind IN ('grant', 'grant_expiry', 'reset') AND a.id = pg.id
        LEFT JOIN ver v ON pg.kind = 'limit' AND v.seq = pg.id
        WHERE pg.rn < ${n}) AS items,
       EXISTS (SELECT 1 FROM page WHERE rn = ${n}) AS more,
       (SELECT json_build_array(at::text, rank, id, period_key)::text FROM page WHERE rn = ${n} - 1) AS last,
       (SELECT json_build_object('periodKey', p, 'limit', capacity - granted, 'granted', granted, 'used', used,
                                 'balance', capacity - used)::text FROM val WHERE rn = 0) AS account`;

  const result = await db
    .query<{ items: string | null; more: boolean; last: string | null; account: string }>(named(text, params))
    .catch(dataError);
  const row = result.rows[0]!;
  let nextCursor: string | null = null;
  if (row.more && row.last) {
    const [t, r, s, per] = JSON.parse(row.last) as [string, number, number, string];
    nextCursor = encodeCursor({ t, r, s: Number(s), p: per });
  }
  const t = (await totalsP).rows[0]!;
  const totals = `{"requests":${t.requests},"promptTokens":${Number(t.p)},"completionTokens":${Number(t.c)},"weightedTokens":${Number(t.w)},"cost":${JSON.stringify(Number(t.cost))},"account":${row.account}}`;
  return `{"items":${row.items ?? '[]'},"nextCursor":${JSON.stringify(nextCursor)},"totals":${totals}}`;
}
type TotalsRow = { requests: number; p: string; c: string; w: string; cost: string };

/** Typed read of the same page (CSV export, tests): the JSON text parsed. */
export async function readStatement(db: Queryable, userId: string, query: StatementQuery, ctx: StatementContext): Promise<StatementPageDTO> {
  return JSON.parse(await readStatementJson(db, userId, query, ctx)) as StatementPageDTO;
}
