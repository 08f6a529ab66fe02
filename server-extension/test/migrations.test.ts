import pg from 'pg';
import { migrate } from '../src/core/migrate';
import { TEST_DATABASE_URL, uniqueName } from './helpers/infra';

async function withClient<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

describe('migrations (node-pg-migrate, real Postgres)', () => {
  const schemas: string[] = [];
  afterAll(async () => {
    await withClient(async (c) => {
      for (const s of schemas) await c.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
    });
  });

  it('applies on an empty schema, then a re-run applies nothing', async () => {
    const schema = uniqueName('mig');
    schemas.push(schema);
    const first = await withClient((client) => migrate({ client, schema }));
    expect(first.length).toBeGreaterThan(0);
    const second = await withClient((client) => migrate({ client, schema }));
    expect(second).toEqual([]);
    const tables = await withClient(async (c) =>
      (await c.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1`, [schema])).rows.map(
        (r: { table_name: string }) => r.table_name,
      ),
    );
    expect(tables).toEqual(
      expect.arrayContaining(['adjustments', 'audit_log', 'ledger', 'plans', 'threshold_notifications', 'user_quotas', 'users_cache']),
    );
  });

  it('two concurrent runs: one applies, the other waits and applies nothing', async () => {
    const schema = uniqueName('mig');
    schemas.push(schema);
    const [a, b] = await Promise.all([
      withClient((client) => migrate({ client, schema })),
      withClient((client) => migrate({ client, schema })),
    ]);
    expect([a.length > 0, b.length > 0].filter(Boolean)).toHaveLength(1);
    const count = await withClient(async (c) => (await c.query(`SELECT count(*)::int AS n FROM ${schema}.solaris_migrations`)).rows[0].n);
    expect(count).toBe(Math.max(a.length, b.length));
  });

  it('period functions follow the configured time zone', async () => {
    const schema = uniqueName('mig');
    schemas.push(schema);
    await withClient((client) => migrate({ client, schema }));
    const row = await withClient(
      async (c) =>
        (
          await c.query(
            `SELECT ${schema}.solaris_period_key('month', $1::timestamptz, 'America/Sao_Paulo') AS k,
                    ${schema}.solaris_period_end('month', $1::timestamptz, 'America/Sao_Paulo') AS e,
                    ${schema}.solaris_period_key('week', $1::timestamptz, 'America/Sao_Paulo') AS w,
                    ${schema}.solaris_period_key('day', $1::timestamptz, 'UTC') AS d`,
            ['2026-12-01T02:30:00Z'], // still 30 November 23:30 in São Paulo (UTC-3)
          )
        ).rows[0],
    );
    expect(row.k).toBe('2026-11');
    expect(new Date(row.e).toISOString()).toBe('2026-12-01T03:00:00.000Z');
    expect(row.w).toBe('2026-W49');
    expect(row.d).toBe('2026-12-01');
  });
});
