/**
 * LedgerWriter's batches in flight (session 9, the ledger-ack tail). By default one: each process's rows take
 * their seqs in the order they were written. With `batchesInFlight` > 1 (measured in bench/README.md "Session 9:
 * ledger ack", not the default) a settlement arriving while a batch commits starts its own INSERT beside it, at
 * most that many at once. Always: a write resolves only once its row is committed (what the proxy's held `[DONE]`
 * waits for: the kill -9 guarantee); one row and one `inserted` per request id however the batches race. Real
 * Postgres; the pool is the real one, wrapped only to hold an INSERT back until the test lets it go.
 */
import type pg from 'pg';
import fc from 'fast-check';
import { LedgerWriter, insertLedgerRows } from '../src/core/ledger';
import type { Settlement } from '../src/core/quota-store';
import { createTestDb, type TestDb } from './helpers/infra';

const TZ = 'America/Sao_Paulo';
const INSERT = 'solaris_ledger_insert_json';

function settlement(requestId: string, userId = 'lwc-user', weightedTokens = 15): Settlement {
  return {
    requestId, userId, model: 'm', promptTokens: 10, completionTokens: 5, weightedTokens, cost: 0.001,
    source: 'proxy', estimated: false, occurredAt: Date.parse('2026-11-15T12:00:00-03:00'),
  };
}

/**
 * The real pool; each ledger INSERT waits for `hold(ids)` (a promise) before it is sent. Records the INSERTs
 * started (their request ids) and how many were in flight at most.
 */
function holdingPool(pool: pg.Pool, hold: (ids: string[]) => Promise<void>) {
  const seen = { started: [] as string[][], inFlight: 0, maxInFlight: 0 };
  const wrapped = new Proxy(pool, {
    get(target, prop, receiver) {
      if (prop !== 'query') return Reflect.get(target, prop, receiver) as unknown;
      return async (q: unknown, values?: unknown[]) => {
        const named = q as { name?: string; values?: unknown[] };
        if (named?.name !== INSERT) return target.query(q as string, values);
        const ids = (JSON.parse(String(named.values![0])) as Array<{ r: string }>).map((x) => x.r);
        seen.started.push(ids);
        seen.maxInFlight = Math.max(seen.maxInFlight, ++seen.inFlight);
        try {
          await hold(ids);
          return await target.query(q as pg.QueryConfig);
        } finally {
          seen.inFlight--;
        }
      };
    },
  });
  return { pool: wrapped, seen };
}

function gate() {
  let open!: () => void;
  const p = new Promise<void>((r) => (open = r));
  return { p, open };
}

const turn = () => new Promise((r) => setImmediate(r));

/** `p`, or a rejection after `ms` (the writer before session 9 would wait here until the test's timeout). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms).unref())]);
}

describe('LedgerWriter: concurrent batches', () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb();
  });
  afterAll(async () => t?.drop());

  const rowsOf = async (prefix: string) =>
    (await t.pool.query<{ request_id: string; seq: number }>(`SELECT request_id, seq FROM ledger WHERE request_id LIKE $1 ORDER BY request_id`, [`${prefix}%`])).rows;

  it('batchesInFlight 2: a write arriving while a batch commits starts beside it; a third waits for a slot; drain waits for both', async () => {
    const gates = new Map<string, ReturnType<typeof gate>>();
    const { pool, seen } = holdingPool(t.pool, async (ids) => {
      const g = gate();
      gates.set(ids[0]!, g);
      await g.p;
    });
    const writer = new LedgerWriter(pool, TZ, { batchesInFlight: 2, startAtOnce: true });
    const done: string[] = [];
    const w = (id: string) => writer.write(settlement(id)).then((r) => (done.push(id), r));
    const a = w('cc-a');
    await turn();
    const b = w('cc-b'); // batch A is committing (held): B must not wait for it
    await turn();
    expect(seen.started).toEqual([['cc-a'], ['cc-b']]);
    const c = w('cc-c');
    const d = w('cc-d');
    await turn();
    await turn();
    expect(seen.started).toHaveLength(2); // both slots busy: C and D wait, gathering into one batch
    let drained = false;
    const drain = writer.drain().then(() => (drained = true));
    gates.get('cc-b')!.open(); // the second batch commits first: its write resolves without waiting for A
    await expect(b).resolves.toMatchObject({ inserted: true });
    expect(done).toEqual(['cc-b']);
    await vi.waitFor(() => expect(seen.started).toHaveLength(3));
    expect(seen.started[2]).toEqual(['cc-c', 'cc-d']);
    gates.get('cc-c')!.open();
    await Promise.all([c, d]);
    expect(drained).toBe(false); // A still in flight
    gates.get('cc-a')!.open();
    await a;
    await drain;
    expect(seen.maxInFlight).toBe(2);
    expect((await rowsOf('cc-')).map((r) => r.request_id)).toEqual(['cc-a', 'cc-b', 'cc-c', 'cc-d']);
  });

  it('by default one batch in flight, the rows of a turn in one INSERT: seqs follow the order of the writes', async () => {
    const g = gate();
    const { pool, seen } = holdingPool(t.pool, (ids) => (ids[0] === 'one-a' ? g.p : Promise.resolve()));
    const writer = new LedgerWriter(pool, TZ);
    const a = writer.write(settlement('one-a'));
    await turn();
    // Written while A commits (held): z before b, in one turn.
    const later = [writer.write(settlement('one-z')), writer.write(settlement('one-b'))];
    await turn();
    await turn();
    expect(seen.started).toEqual([['one-a']]);
    g.open();
    await Promise.all([a, ...later]);
    expect(seen.started).toEqual([['one-a'], ['one-b', 'one-z']]);
    expect(seen.maxInFlight).toBe(1);
    // A's row first; then the batch's rows (in request id order within one INSERT).
    expect((await t.pool.query(`SELECT request_id FROM ledger WHERE request_id LIKE 'one-%' ORDER BY seq`)).rows.map((r) => r.request_id)).toEqual(['one-a', 'one-b', 'one-z']);
  });

  it("a batch blocked on another writer's open transaction (same request id) does not hold back the next settlement", async () => {
    const other = await t.pool.connect();
    try {
      // Another replica's batch holds the key of `lk-dup`, not committed yet.
      await other.query('BEGIN');
      await insertLedgerRows(other, [settlement('lk-dup')], TZ);
      const writer = new LedgerWriter(t.pool, TZ, { batchesInFlight: 2, startAtOnce: true });
      let dupDone = false;
      const dup = writer.write(settlement('lk-dup')).then((r) => ((dupDone = true), r));
      await turn();
      const next = await within(writer.write(settlement('lk-next')), 5_000, 'the next settlement'); // second slot: committed while the first waits
      expect(next.inserted).toBe(true);
      expect(dupDone).toBe(false);
      await other.query('COMMIT');
      const r = await dup;
      // The other writer's row is the one: this write is told so (not inserted), and sees its seq.
      expect(r.inserted).toBe(false);
      const rows = await rowsOf('lk-dup');
      expect(rows).toHaveLength(1);
      expect(Number(r.row.seq)).toBe(Number(rows[0]!.seq));
    } finally {
      other.release();
    }
  });

  it('property: racing batches (random slots, sizes, commit delays, duplicate ids) → one row and one "inserted" per id; every write resolves after its row is committed', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          slots: fc.integer({ min: 1, max: 3 }),
          maxBatch: fc.integer({ min: 1, max: 6 }),
          startAtOnce: fc.boolean(),
          // Each write: an id among few (duplicates), how many turns to wait before it, how long its INSERT is held.
          writes: fc.array(fc.record({ id: fc.integer({ min: 0, max: 8 }), gap: fc.integer({ min: 0, max: 2 }), holdMs: fc.integer({ min: 0, max: 6 }) }), {
            minLength: 1,
            maxLength: 20,
          }),
        }),
        async ({ slots, maxBatch, startAtOnce, writes }) => {
          const prefix = `pr${run++}-`;
          const holdMs = new Map(writes.map((w) => [prefix + w.id, w.holdMs]));
          const { pool, seen } = holdingPool(t.pool, (ids) => new Promise((r) => setTimeout(r, Math.max(...ids.map((id) => holdMs.get(id) ?? 0)))));
          const writer = new LedgerWriter(pool, TZ, { batchesInFlight: slots, maxConcurrentBatches: slots, maxBatch, startAtOnce });
          const results: Array<Promise<{ id: string; inserted: boolean; seq: number; committed: number }>> = [];
          for (const w of writes) {
            for (let k = 0; k < w.gap; k++) await turn();
            const id = prefix + w.id;
            results.push(
              writer.write(settlement(id, `pu${w.id % 3}`, 1 + w.id)).then(async (r) => {
                // At the moment a write resolves (the proxy sends `[DONE]` then), its row is committed.
                const { rows } = await t.pool.query(`SELECT 1 FROM ledger WHERE request_id = $1`, [id]);
                return { id, inserted: r.inserted, seq: Number(r.row.seq), committed: rows.length };
              }),
            );
          }
          const out = await Promise.all(results);
          await writer.drain();
          const distinct = new Set(writes.map((w) => prefix + w.id));
          expect(out.every((o) => o.committed === 1)).toBe(true);
          expect(out.filter((o) => o.inserted).map((o) => o.id).sort()).toEqual([...distinct].sort());
          for (const id of distinct) expect(new Set(out.filter((o) => o.id === id).map((o) => o.seq)).size).toBe(1);
          const rows = await rowsOf(prefix);
          expect(rows.map((r) => r.request_id).sort()).toEqual([...distinct].sort());
          expect(seen.maxInFlight).toBeLessThanOrEqual(slots);
          expect(seen.started.every((b) => b.length <= maxBatch)).toBe(true);
          if (slots === 1) {
            // One batch at a time: a row's seq follows the batch its first write went in (batches in write order).
            const firstBatch = new Map<string, number>();
            seen.started.forEach((b, i) => b.forEach((id) => firstBatch.has(id) || firstBatch.set(id, i)));
            const bySeq = [...rows].sort((x, y) => Number(x.seq) - Number(y.seq)).map((r) => firstBatch.get(r.request_id)!);
            expect(bySeq).toEqual([...bySeq].sort((x, y) => x - y));
          }
        },
      ),
      { numRuns: 30 },
    );
  });
});
