import type pg from 'pg';

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
