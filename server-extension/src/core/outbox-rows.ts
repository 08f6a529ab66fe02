import type pg from 'pg';
import type { Settlement } from './quota-store';
import { insertLedgerRows } from './ledger';
import { isPostgresUnavailable } from './store-errors';

/** Rows that can never be inserted (not an outage: a bad row). Kept for the operator, never retried. */
export const OUTBOX_DEAD_STREAM = 'sq:ledger-outbox:dead';
/**
 * The global stream of the former ledger outbox (before the one outbox, issue 17): only read at start, to move
 * rows an older version left there into their users' streams.
 */
export const LEGACY_OUTBOX_STREAM = 'sq:ledger-outbox';

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
