/**
 * The ledger partitioned by month (docs/ledger-partitions.md), on real Postgres: idempotency across partitions
 * (a retry of a request id in another month inserts nothing, through every writer), the partitions migrate
 * creates ahead, rows moved out of the DEFAULT partition, retention, and the conversion of an existing ledger.
 */
import { mkdtempSync, readdirSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import fc from 'fast-check';
import { LedgerWriter, insertLedgerRows } from '../src/core/ledger';
import { ensureLedgerPartitions, findMigrationsDir, migrate } from '../src/core/migrate';
import type { Settlement } from '../src/core/quota-store';
import { createTestDb, TEST_DATABASE_URL, uniqueName, type TestDb } from './helpers/infra';

const TZ = 'America/Sao_Paulo';

function settlement(requestId: string, userId: string, occurredAt: string | number, weightedTokens = 15): Settlement {
  return {
    requestId, userId, model: 'm', promptTokens: 10, completionTokens: 5, weightedTokens, cost: 0.001,
    source: 'proxy', estimated: false, occurredAt: typeof occurredAt === 'number' ? occurredAt : Date.parse(occurredAt),
  };
}

/** The UTC month n months after this one, as an ISO instant at `day` 12:00 UTC. */
function monthFromNow(n: number, day = 15): string {
  const d = new Date();
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + n, day, 12)).toISOString();
}

describe('ledger partitions', () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb();
  });
  afterAll(async () => t?.drop());

  const partitionOf = async (requestId: string) =>
    (await t.pool.query<{ p: string }>(`SELECT tableoid::regclass::text AS p FROM ledger WHERE request_id = $1`, [requestId])).rows.map((r) => r.p);

  it('migrate creates this month and the next three and a DEFAULT partition (a new install has no legacy partition)', async () => {
    const { rows } = await t.pool.query<{ name: string; is_default: boolean }>(`SELECT name, is_default FROM ledger_partitions ORDER BY lo NULLS FIRST`);
    const names = rows.map((r) => r.name);
    const month = (n: number) => `ledger_y${monthFromNow(n).slice(0, 4)}m${monthFromNow(n).slice(5, 7)}`;
    for (const name of ['ledger_default', ...[0, 1, 2, 3].map(month)]) expect(names).toContain(name);
    expect(names).not.toContain('ledger_legacy');
    // Each month has the totals index (the statement's sums read from the index alone).
    const { rows: idx } = await t.pool.query(`SELECT count(*)::int AS n FROM pg_indexes WHERE schemaname = $1 AND tablename = $2 AND indexdef LIKE '%INCLUDE (prompt_tokens%'`, [t.schema, month(1)]);
    expect(idx[0].n).toBe(1);
    // Running it again creates nothing.
    const c = await t.pool.connect();
    try {
      expect(await ensureLedgerPartitions(c)).toEqual([]);
    } finally {
      c.release();
    }
  });

  it('a retry of the same request id in another month inserts nothing (batch writer, LedgerWriter, Postgres store settle)', async () => {
    const first = await insertLedgerRows(t.pool, [settlement('x-1', 'u1', monthFromNow(0))], TZ);
    expect(first.get('x-1')!.inserted).toBe(true);
    // Retried two months later (another partition), then in the past (legacy partition): nothing inserted, the row as first written.
    for (const when of [monthFromNow(2), '2020-01-10T00:00:00Z']) {
      const again = await insertLedgerRows(t.pool, [settlement('x-1', 'u1', when, 999)], TZ);
      expect(again.get('x-1')!.inserted).toBe(false);
      expect(again.get('x-1')!.row.weighted_tokens).toBe(15);
      expect(again.get('x-1')!.row.created_at.toISOString()).toBe(monthFromNow(0));
    }
    const writer = new LedgerWriter(t.pool, TZ);
    const w = await Promise.all([writer.write(settlement('x-1', 'u1', monthFromNow(1))), writer.write(settlement('x-2', 'u1', monthFromNow(3)))]);
    expect(w.map((r) => r.inserted)).toEqual([false, true]);
    // The Postgres store's settle function goes through the same key.
    const settle = (id: string, when: string) =>
      t.pool.query<{ l_seq: number | null }>(
        `SELECT l_seq FROM solaris_quota_settle('u1', $1, 'm', 10, 5, 15, 0.001, 'proxy', false, NULL, NULL, $2::timestamptz, now(), $3, NULL)`,
        [id, when, TZ],
      );
    expect((await settle('x-2', monthFromNow(0))).rows[0]!.l_seq).toBeNull();
    expect((await settle('x-3', monthFromNow(1))).rows[0]!.l_seq).not.toBeNull();
    expect((await settle('x-3', monthFromNow(3))).rows[0]!.l_seq).toBeNull();
    const { rows } = await t.pool.query<{ request_id: string; n: number }>(
      `SELECT request_id, count(*)::int AS n FROM ledger WHERE request_id LIKE 'x-%' GROUP BY 1 ORDER BY 1`,
    );
    expect(rows).toEqual([{ request_id: 'x-1', n: 1 }, { request_id: 'x-2', n: 1 }, { request_id: 'x-3', n: 1 }]);
    expect(await partitionOf('x-2')).toEqual([`ledger_y${monthFromNow(3).slice(0, 4)}m${monthFromNow(3).slice(5, 7)}`]);
    // The idempotency claim sees a request id charged in any month.
    const { rows: claim } = await t.pool.query(`SELECT state FROM solaris_idempotency_claim('x-2', 'u1', now() + interval '1 hour')`);
    expect(claim[0].state).toBe('spent');
  });

  it('a ledger row written without its key is refused; the ledger stays append-only in every partition', async () => {
    await expect(
      t.pool.query(
        `INSERT INTO ledger (request_id, user_id, model, prompt_tokens, completion_tokens, total_tokens, weighted_tokens, source, period_key, created_at)
         VALUES ('raw-1', 'u1', 'm', 1, 1, 2, 2, 'proxy', 'k', now())`,
      ),
    ).rejects.toThrow(/without its key/);
    await expect(t.pool.query(`DELETE FROM ledger WHERE request_id = 'x-2'`)).rejects.toThrow(/append-only/);
    await expect(t.pool.query(`UPDATE ledger SET weighted_tokens = 0 WHERE request_id = 'x-1'`)).rejects.toThrow(/append-only/);
  });

  it('property: random batches with duplicate ids across month boundaries → one row per distinct id, sums equal', async () => {
    // Instants around the boundaries of this month and the next ones (UTC and Sao Paulo month starts), plus the
    // legacy range and far in the future (the DEFAULT partition).
    const base = Date.parse(monthFromNow(0, 1)) - 12 * 3600_000;
    const instants = [
      ...[0, 1, 2, 3].flatMap((n) => [Date.parse(monthFromNow(n, 1)) - 12 * 3600_000 - 1, Date.parse(monthFromNow(n, 1)) - 12 * 3600_000, Date.parse(monthFromNow(n, 1)) - 9 * 3600_000]),
      base - 40 * 86400_000,
      Date.parse('2035-06-01T00:00:00Z'),
    ];
    let round = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(fc.record({ id: fc.integer({ min: 0, max: 30 }), at: fc.constantFrom(...instants) }), { minLength: 1, maxLength: 25 }), {
          minLength: 1,
          maxLength: 5,
        }),
        async (batches) => {
          const run = `p${round++}-`;
          const weight = (id: number) => 1 + id * 7;
          // The batches race: two at once through the batch insert, the rest through a LedgerWriter.
          const writer = new LedgerWriter(t.pool, TZ, { maxBatch: 7 });
          const results = await Promise.all(
            batches.map((b, i) =>
              i % 2 === 0
                ? insertLedgerRows(t.pool, b.map((s) => settlement(run + s.id, `pu${s.id % 3}`, s.at, weight(s.id))), TZ).then((m) =>
                    [...new Set(b.map((s) => run + s.id))].map((id) => m.get(id)!.inserted),
                  )
                : Promise.all(b.map((s) => writer.write(settlement(run + s.id, `pu${s.id % 3}`, s.at, weight(s.id))).then((r) => r.inserted))),
            ),
          );
          await writer.drain();
          const distinct = new Set(batches.flat().map((s) => s.id));
          const { rows } = await t.pool.query<{ n: number; w: number; keys: number }>(
            `SELECT count(*)::int AS n, COALESCE(sum(weighted_tokens), 0) AS w,
                    (SELECT count(*)::int FROM ledger_request_ids WHERE request_id LIKE $1) AS keys
             FROM ledger WHERE request_id LIKE $1`,
            [`${run}%`],
          );
          expect(rows[0]!.n).toBe(distinct.size);
          expect(rows[0]!.keys).toBe(distinct.size);
          expect(rows[0]!.w).toBe([...distinct].reduce((a, id) => a + weight(id), 0));
          // Exactly one writer was told "inserted" per id (a batch's duplicates: its first only).
          const insertedTrue = results.flat().filter(Boolean).length;
          expect(insertedTrue).toBe(distinct.size);
        },
      ),
      { numRuns: 25 },
    );
  });

  it('months in the past are created on demand (imports), moving what DEFAULT held for them', async () => {
    // The retry test above wrote nothing new in 2020; a row of January 2020 lands in DEFAULT, then gets its month.
    await insertLedgerRows(t.pool, [settlement('past-1', 'u2', '2020-01-20T00:00:00Z')], TZ);
    expect(await partitionOf('past-1')).toEqual(['ledger_default']);
    const { rows } = await t.pool.query<{ created: string[] }>(`SELECT solaris_ledger_ensure_partitions('2019-12-10T00:00:00Z', 1) AS created`);
    expect(rows[0]!.created).toEqual(['ledger_y2019m12', 'ledger_y2020m01']);
    expect(await partitionOf('past-1')).toEqual(['ledger_y2020m01']);
  });

  it('creating a month moves the rows the DEFAULT partition held for it', async () => {
    await insertLedgerRows(t.pool, [settlement('far-1', 'u2', '2031-03-10T00:00:00Z'), settlement('far-2', 'u2', '2031-04-10T00:00:00Z')], TZ);
    expect(await partitionOf('far-1')).toEqual(['ledger_default']);
    const { rows } = await t.pool.query<{ created: string[] }>(`SELECT solaris_ledger_ensure_partitions('2031-03-05T00:00:00Z', 0) AS created`);
    expect(rows[0]!.created).toEqual(['ledger_y2031m03']);
    expect(await partitionOf('far-1')).toEqual(['ledger_y2031m03']);
    expect(await partitionOf('far-2')).toEqual(['ledger_default']);
    // Still one row, still found by its key, still append-only there.
    const again = await insertLedgerRows(t.pool, [settlement('far-1', 'u2', monthFromNow(0))], TZ);
    expect(again.get('far-1')!.inserted).toBe(false);
    await expect(t.pool.query(`DELETE FROM ledger WHERE request_id = 'far-1'`)).rejects.toThrow(/append-only/);
  });

  it('retention drops whole months before the cutoff with their keys, and refuses a cutoff within the last two months', async () => {
    await expect(t.pool.query(`SELECT solaris_ledger_drop_before(now())`)).rejects.toThrow(/too recent/);
    const { rows } = await t.pool.query<{ dropped: string[] }>(`SELECT solaris_ledger_drop_before('2031-04-01T00:00:00Z', '2031-06-15T00:00:00Z') AS dropped`);
    // Every month that ended by then; DEFAULT stays.
    expect(rows[0]!.dropped).toContain('ledger_y2031m03');
    expect(rows[0]!.dropped).toContain('ledger_y2020m01');
    expect(await partitionOf('far-1')).toEqual([]);
    expect(await partitionOf('far-2')).toEqual(['ledger_default']);
    const { rows: keys } = await t.pool.query(`SELECT request_id FROM ledger_request_ids WHERE request_id IN ('far-1', 'far-2', 'x-1')`);
    expect(keys.map((k: { request_id: string }) => k.request_id)).toEqual(['far-2']);
    // Inserts still work (the sequence outlived the legacy partition that owned it).
    const r = await insertLedgerRows(t.pool, [settlement('after-retention', 'u3', '2031-07-01T00:00:00Z')], TZ);
    expect(r.get('after-retention')!.inserted).toBe(true);
  });
});

describe('ledger partitions: converting an existing ledger', () => {
  const schema = uniqueName('conv');
  let client: pg.Client;
  beforeAll(async () => {
    client = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await client.connect();
  });
  afterAll(async () => {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.end();
  });

  it('the previous schema with rows: attached in place, keys backfilled, a retry of an old id inserts nothing', async () => {
    // The schema as the previous release left it: every migration before this one.
    const dir = mkdtempSync(join(tmpdir(), 'solaris-mig-'));
    for (const f of readdirSync(findMigrationsDir()).filter((f) => f.endsWith('.sql') && f < '1765400000000')) {
      copyFileSync(join(findMigrationsDir(), f), join(dir, f));
    }
    const { runner } = await import('node-pg-migrate');
    await runner({
      dbClient: client, dir, direction: 'up', migrationsTable: 'solaris_migrations', schema, createSchema: true,
      checkOrder: true, singleTransaction: true, log: () => undefined,
    });
    await client.query(`SET search_path = ${schema}, public`);
    // Rows as the old writer wrote them (ON CONFLICT on the old unique request_id), last month and this one.
    await client.query(
      `INSERT INTO ledger (request_id, user_id, model, prompt_tokens, completion_tokens, total_tokens, weighted_tokens, source, period_key, created_at)
       SELECT 'old-' || g, 'ou' || (g % 3), 'm', 1, 1, 2, g, 'proxy', 'k', now() - g * interval '1 day' FROM generate_series(1, 40) g
       ON CONFLICT (request_id) DO NOTHING`,
    );
    const before = (await client.query(`SELECT count(*)::int AS n, sum(weighted_tokens)::int AS w, max(seq)::int AS s FROM ledger`)).rows[0];
    await client.query(`RESET search_path`);
    const applied = await migrate({ client, schema });
    expect(applied).toEqual(['1765400000000_ledger-partitions']);
    await client.query(`SET search_path = ${schema}, public`);
    const after = (await client.query(`SELECT count(*)::int AS n, sum(weighted_tokens)::int AS w, max(seq)::int AS s FROM ledger`)).rows[0];
    expect(after).toEqual(before);
    expect((await client.query(`SELECT count(*)::int AS n FROM ledger_request_ids`)).rows[0].n).toBe(40);
    expect((await client.query(`SELECT count(*)::int AS n FROM ledger_legacy`)).rows[0].n).toBe(40);
    // Retries of old ids, now or next month: nothing inserted. New ids get seqs after the old ones.
    const db = { query: (text: string | pg.QueryConfig, values?: unknown[]) => client.query(text as string, values) } as unknown as pg.Pool;
    const r = await insertLedgerRows(db, [settlement('old-3', 'ou0', monthFromNow(1)), settlement('new-1', 'ou0', monthFromNow(1))], TZ);
    expect(r.get('old-3')!.inserted).toBe(false);
    expect(r.get('old-3')!.row.weighted_tokens).toBe(3);
    expect(r.get('new-1')!.inserted).toBe(true);
    expect(r.get('new-1')!.row.seq).toBeGreaterThan(before.s);
    const { rows } = await client.query(`SELECT tableoid::regclass::text AS p FROM ledger WHERE request_id = 'new-1'`);
    expect(rows[0].p).toBe(`ledger_y${monthFromNow(1).slice(0, 4)}m${monthFromNow(1).slice(5, 7)}`);
    await client.query(`RESET search_path`);
  });
});
