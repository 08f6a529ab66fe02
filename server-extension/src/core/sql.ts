import pg from 'pg';

/** Anything that runs a query: a pool or a checked-out client (inside a transaction). */
export type Queryable = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

export async function withTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    client.release();
  }
}

/** Advisory-lock key of a user (one lock per user id, shared with other replicas). */
export const USER_LOCK_SQL = `SELECT pg_advisory_xact_lock(hashtextextended('solaris:' || $1::text, 0))`;

function arrayLiteral(values: unknown[]): string {
  const items = values.map((v) => (v == null ? 'NULL' : `"${scalarText(v).replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`));
  return `{${items.join(',')}}`;
}

function scalarText(v: unknown): string {
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error('cannot inline a non-finite number');
    return String(v);
  }
  if (typeof v === 'string' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  throw new Error(`cannot inline a value of type ${typeof v}`);
}

/**
 * Replaces $1..$n by SQL literals (pg's escapeLiteral; arrays as array literals, dates as ISO text), so
 * several statements can travel in ONE simple-protocol round trip (the Postgres store's transactions:
 * BEGIN; lock; ...; COMMIT). Every placeholder in our SQL carries a cast or sits where its type is implied.
 * Only for our own SQL constants: the text must hold no other `$<digit>`.
 */
export function inlineParams(text: string, values: unknown[]): string {
  return text.replace(/\$(\d+)/g, (_, n: string) => {
    const v = values[Number(n) - 1];
    if (v == null) return 'NULL';
    return pg.escapeLiteral(Array.isArray(v) ? arrayLiteral(v) : scalarText(v));
  });
}
