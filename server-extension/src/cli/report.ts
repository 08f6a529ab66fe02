/** Monthly usage report (CSV) straight from the ledger, in the deployment time zone. */
import type pg from 'pg';
import { invalid } from '../core/errors';

export const REPORT_COLUMNS = ['user_id', 'email', 'name', 'requests', 'prompt_tokens', 'completion_tokens', 'weighted_tokens', 'cost_usd'] as const;

export function parseMonth(month: string): { year: number; month: number } {
  const m = /^(\d{4})-(0[1-9]|1[0-2])$/.exec(month);
  if (!m) throw invalid(`--month must be YYYY-MM, got "${month}"`);
  return { year: Number(m[1]), month: Number(m[2]) };
}

/** RFC 4180 quoting; a leading = + - @ is neutralised so spreadsheets do not run it as a formula. */
export function csvField(v: unknown): string {
  let s = v == null ? '' : String(v);
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export async function monthlyReportCsv(pool: pg.Pool, monthArg: string, timezone: string): Promise<string> {
  const { year, month } = parseMonth(monthArg);
  const { rows } = await pool.query<Record<(typeof REPORT_COLUMNS)[number], unknown>>(
    `WITH bounds AS (
       SELECT (make_date($1, $2, 1)::timestamp AT TIME ZONE $3) AS since,
              ((make_date($1, $2, 1) + interval '1 month')::timestamp AT TIME ZONE $3) AS until
     )
     SELECT l.user_id, c.email, c.name, count(*)::int AS requests, sum(l.prompt_tokens) AS prompt_tokens,
            sum(l.completion_tokens) AS completion_tokens, sum(l.weighted_tokens) AS weighted_tokens, sum(l.cost) AS cost_usd
     FROM ledger l CROSS JOIN bounds b LEFT JOIN users_cache c USING (user_id)
     WHERE l.created_at >= b.since AND l.created_at < b.until
     GROUP BY l.user_id, c.email, c.name
     ORDER BY weighted_tokens DESC, l.user_id`,
    [year, month, timezone],
  );
  const lines = [REPORT_COLUMNS.join(',')];
  for (const r of rows) lines.push(REPORT_COLUMNS.map((c) => csvField(c === 'cost_usd' ? Number(r[c]).toFixed(6) : r[c])).join(','));
  return lines.join('\n') + '\n';
}
