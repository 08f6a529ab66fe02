/**
 * Real infrastructure for tests: the machine's PostgreSQL and Redis over real connections.
 * Each test file gets its own Postgres schema (migrated) and its own Redis key prefix, so files run in
 * parallel without seeing each other. Nothing here mocks our database or cache.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { Redis } from 'ioredis';
import { openDatabase, type Database } from '../../src/core/db';
import { migrate } from '../../src/core/migrate';

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}

export interface TestDb extends Database {
  schema: string;
  /** DATABASE_URL-style string that a child process can use (search_path pinned to the schema). */
  childEnvUrl: string;
  drop(): Promise<void>;
}

/** A freshly migrated schema on the real Postgres. */
export async function createTestDb(opts: { max?: number } = {}): Promise<TestDb> {
  const schema = uniqueName('t');
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    await migrate({ client, schema });
    // The ledger's months around the tests' clocks (2026-11/12), as partitions: rows cross partition bounds as in
    // production instead of all landing in the DEFAULT partition (docs/ledger-partitions.md).
    await client.query(`SET search_path = ${schema}, public`);
    await client.query(`SELECT solaris_ledger_ensure_partitions('2026-09-01T00:00:00Z', 6)`);
  } finally {
    await client.end();
  }
  const db = await openDatabase({ databaseUrl: TEST_DATABASE_URL, schema, max: opts.max ?? 10 });
  const url = new URL(TEST_DATABASE_URL);
  url.searchParams.set('options', `-c search_path=${schema},public`);
  return {
    ...db,
    schema,
    childEnvUrl: url.toString(),
    async drop() {
      await db.close();
      const c = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
    },
  };
}

/** A Redis connection whose keys are prefixed uniquely for this test file. */
export function createTestRedis(prefix = uniqueName('t') + ':', url = TEST_REDIS_URL): Redis & { testPrefix: string; testUrl: string } {
  const redis = new Redis(url, { keyPrefix: prefix, lazyConnect: false, maxRetriesPerRequest: 2 }) as Redis & {
    testPrefix: string;
    testUrl: string;
  };
  redis.testPrefix = prefix;
  redis.testUrl = url;
  return redis;
}

/** Deletes every key under the prefix (the test-file-scoped equivalent of FLUSHALL). */
export async function flushPrefix(redis: Redis & { testPrefix: string; testUrl?: string }): Promise<number> {
  const raw = new Redis(redis.testUrl ?? TEST_REDIS_URL);
  let n = 0;
  let cursor = '0';
  do {
    const [next, keys] = await raw.scan(cursor, 'MATCH', `${redis.testPrefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) n += await raw.del(...keys);
  } while (cursor !== '0');
  raw.disconnect();
  return n;
}

/** Calls `fn` every 20 ms until `ok` accepts its value or `ms` pass; returns the last value (the caller asserts on it). */
export async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, ms = 5_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
}
