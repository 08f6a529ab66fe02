/**
 * node dist/bench/proxy-ledger.cjs (after `node scripts/build.mjs --quiet --no-widget`) — the ledger-ack tail's
 * ledger step alone: LedgerWriter variants fed the same open-loop arrivals (settlements at a fixed rate, each
 * started on its schedule and timed from it), alternating in short windows, in one process that does nothing
 * else — so the proxy's own event-loop lag (bench:proxy's open loop) does not drown the writer's policy.
 * Per variant: write → resolved (what the proxy's held `[DONE]` waits for) p50 / p90 / p99, split into waiting for
 * a batch slot and the INSERT + commit (pool.query wrapped), rows per INSERT, Node CPU per row. A lone 1-row
 * INSERT (sequential, between windows) is the floor: the commit itself.
 * Env: DATABASE_URL, BENCH_LEDGER_RATE (settlements/s, default 300), BENCH_LEDGER_SECONDS (per window, 3),
 * BENCH_LEDGER_ROUNDS (6), BENCH_LEDGER_VARIANTS ('name={writer options};…', default below).
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import pg from 'pg';
import { fixed, pct } from './_shared';
import { LedgerWriter, insertLedgerRows, type LedgerWriterOptions } from '../server-extension/src/core/ledger';
import type { Settlement } from '../server-extension/src/core/quota-store';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const RATE = Number(process.env.BENCH_LEDGER_RATE ?? 300);
const SECONDS = Number(process.env.BENCH_LEDGER_SECONDS ?? 3);
const ROUNDS = Number(process.env.BENCH_LEDGER_ROUNDS ?? 6);
const TZ = 'America/Sao_Paulo';
/** `main` is the default writer (one batch in flight unless a full one waits, gathered per turn). */
const VARIANTS: Array<[string, LedgerWriterOptions]> = (
  process.env.BENCH_LEDGER_VARIANTS ??
  'main={};c1now={"startAtOnce":true};c2turn={"batchesInFlight":2};c2now={"batchesInFlight":2,"startAtOnce":true};c3now={"batchesInFlight":3,"startAtOnce":true}'
)
  .split(';')
  .filter(Boolean)
  .map((x) => [x.slice(0, x.indexOf('=')), JSON.parse(x.slice(x.indexOf('=') + 1)) as LedgerWriterOptions]);

interface Stats {
  total: number[];
  slot: number[];
  insert: number[];
  inserts: number;
  rows: number;
  cpuMs: number;
}

/** The pool, with the writer's INSERT timed: sent (per row id) and answered. */
function timedPool(pool: pg.Pool, sent: Map<string, number>, stats: () => Stats): pg.Pool {
  return new Proxy(pool, {
    get(target, prop, receiver) {
      if (prop !== 'query') return Reflect.get(target, prop, receiver) as unknown;
      return async (q: pg.QueryConfig, values?: unknown[]) => {
        if (q?.name !== 'solaris_ledger_insert_json') return target.query(q, values);
        const ids = [...String(q.values?.[0]).matchAll(/"r":"([^"\\]*)"/g)].map((m) => m[1]!);
        const t0 = performance.now();
        for (const id of ids) sent.set(id, t0);
        try {
          return await target.query(q);
        } finally {
          const s = stats();
          s.inserts++;
          s.rows += ids.length;
          s.insert.push(performance.now() - t0);
        }
      };
    },
  });
}

async function main(): Promise<void> {
  const schema = `bench_lw_${Date.now().toString(36)}_${randomBytes(2).toString('hex')}`;
  const admin = new pg.Client({ connectionString: DATABASE_URL });
  await admin.connect();
  const { migrate } = await import('../server-extension/src/core/migrate');
  await migrate({ client: admin, schema });
  const pool = new pg.Pool({ connectionString: DATABASE_URL, options: `-c search_path=${schema},public`, max: 10 });
  console.log(
    `bench proxy-ledger — ${RATE} settlements/s open loop, ${ROUNDS} rounds × ${SECONDS} s per variant (order rotated), schema ${schema}; ` +
      `load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`,
  );
  const stats = new Map<string, Stats>(VARIANTS.map(([n]) => [n, { total: [], slot: [], insert: [], inserts: 0, rows: 0, cpuMs: 0 }]));
  const lone: number[] = [];
  let current = VARIANTS[0]![0];
  const sent = new Map<string, number>();
  const timed = timedPool(pool, sent, () => stats.get(current)!);
  let seq = 0;
  const settlement = (): Settlement => {
    seq++;
    return {
      requestId: `lw-${seq}`, userId: `lw-user-${seq % 200}`, model: 'm', promptTokens: 300, completionTokens: 200, weightedTokens: 500,
      cost: 0.001, source: 'proxy', estimated: false, occurredAt: Date.now(),
    };
  };
  try {
    // Warm-up: connections and the named statement on each.
    await Promise.all(Array.from({ length: 10 }, () => insertLedgerRows(pool, [settlement()], TZ)));
    for (let round = 0; round < ROUNDS; round++) {
      for (let k = 0; k < VARIANTS.length; k++) {
        const [name, opts] = VARIANTS[(k + round) % VARIANTS.length]!;
        current = name;
        const s = stats.get(name)!;
        const writer = new LedgerWriter(timed, TZ, opts);
        const n = Math.round(RATE * SECONDS);
        const interval = 1000 / RATE;
        const start = performance.now() + 2;
        const cpu0 = process.cpuUsage();
        const pending: Array<Promise<void>> = [];
        for (let i = 0; i < n; ) {
          const now = performance.now();
          for (; i < n && start + i * interval <= now; i++) {
            const t0 = start + i * interval;
            const row = settlement();
            pending.push(
              writer.write(row).then(() => {
                const end = performance.now();
                s.total.push(end - t0);
                s.slot.push((sent.get(row.requestId) ?? end) - t0);
                sent.delete(row.requestId);
              }),
            );
          }
          const wait = start + i * interval - performance.now();
          await new Promise((r) => (wait >= 1 ? setTimeout(r, Math.floor(wait)) : setImmediate(r)));
        }
        await Promise.all(pending);
        await writer.drain();
        const cpu = process.cpuUsage(cpu0);
        s.cpuMs += (cpu.user + cpu.system) / 1000;
        // The floor between windows: lone 1-row INSERTs, one after the other.
        for (let j = 0; j < 20; j++) {
          const t0 = performance.now();
          await insertLedgerRows(pool, [settlement()], TZ);
          lone.push(performance.now() - t0);
        }
      }
    }
    const f = (x: number, d = 2) => fixed(x, d);
    const three = (xs: number[]) => `${f(pct(xs, 0.5))} / ${f(pct(xs, 0.9))} / ${f(pct(xs, 0.99), 1)}`;
    console.log(`\n${'variant'.padEnd(10)}${'write → resolved p50 / p90 / p99'.padStart(34)}${'  slot wait p50 / p99'.padStart(22)}${'  INSERT p50 / p99'.padStart(20)}${'rows/INSERT'.padStart(13)}${'CPU µs/row'.padStart(12)}`);
    for (const [name] of VARIANTS) {
      const s = stats.get(name)!;
      console.log(
        `${name.padEnd(10)}${three(s.total).padStart(34)}${`${f(pct(s.slot, 0.5))} / ${f(pct(s.slot, 0.99), 1)}`.padStart(22)}` +
          `${`${f(pct(s.insert, 0.5))} / ${f(pct(s.insert, 0.99), 1)}`.padStart(20)}${f(s.rows / Math.max(1, s.inserts)).padStart(13)}${f((s.cpuMs * 1000) / Math.max(1, s.total.length), 0).padStart(12)}`,
      );
    }
    console.log(`lone 1-row INSERT (sequential, between windows): p50 ${f(pct(lone, 0.5))} p90 ${f(pct(lone, 0.9))} p99 ${f(pct(lone, 0.99), 1)} ms (n ${lone.length})`);
  } finally {
    await pool.end();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
