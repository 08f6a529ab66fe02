/**
 * npm run bench:quota — quota engine throughput from one Node process (see bench/README.md).
 *
 * 1,000 users, 32 concurrent callers, each doing reserve → settle through the QuotaEngine facade (as the
 * proxy does), against the real Redis and Postgres. Prints decisions/s (a decision = one reserve+settle
 * pair) for each store, ledger ingest rows/s, and a bare Redis INCRBY loop from the same process as the
 * physical ceiling, with the ratios to the targets of issue 2.
 *
 * Env: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test), REDIS_URL (default redis://127.0.0.1:6379),
 * BENCH_SECONDS (per phase, default 8), BENCH_ONLY=redis|postgres|outbox|ingest|cluster (that phase alone; BENCH_NO_DRAIN=1: outbox drainer off), BENCH_APPENDFSYNC (outbox phase's Redis). Uses a fresh schema and a unique key prefix, removed at the end.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { Redis } from 'ioredis';
import { loadConfig } from '../server-extension/src/core/config';
import { openDatabase, type Database } from '../server-extension/src/core/db';
import { migrate } from '../server-extension/src/core/migrate';
import { createStore } from '../server-extension/src/core/create-engine';
import { QuotaEngine } from '../server-extension/src/core/engine';
import { insertLedgerRows, LedgerWriter } from '../server-extension/src/core/ledger';
import type { Settlement } from '../server-extension/src/core/quota-store';
import { userKeys, type RedisQuotaStore } from '../server-extension/src/core/redis-quota-store';
import { SettleOutbox } from '../server-extension/src/core/settle-outbox';
import { REPLY } from '../server-extension/src/core/lua/reply';
import { startAofRedis, startRedisServer } from '../server-extension/src/dev/redis-server';
import { startRedisCluster } from '../server-extension/src/dev/redis-cluster';
import { deleteRedisPrefix, pct } from './_shared';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const USERS = 1000;
/** BENCH_AUTOPIPE=1: ioredis enableAutoPipelining on the bench's Redis clients (A/B switch). */
const AUTOPIPE = process.env.BENCH_AUTOPIPE === '1';
const CALLERS = 32;
const run = randomBytes(4).toString('hex');
/** The bench pool's application_name: how its Postgres backends are told apart from others on a shared server. */
const APP_NAME = `solaris-bench-${run}`;
const ADMIN = { id: 'bench' };

/** Called when the counted window opens and closes (CPU accounting of the cluster comparison). */
interface Window {
  open(): Promise<void> | void;
  close(done: number): Promise<void> | void;
}
let measureWindow: Window | null = null;

/** Runs `CALLERS` loops of `op` for `seconds` (after a short warm-up) and returns ops/s. */
async function measure(seconds: number, op: (caller: number, i: number) => Promise<void>): Promise<number> {
  let counting = false;
  let stop = false;
  let done = 0;
  const loops = Array.from({ length: CALLERS }, async (_, caller) => {
    for (let i = 0; !stop; i++) {
      await op(caller, i);
      if (counting) done++;
    }
  });
  await new Promise((r) => setTimeout(r, Math.min(1000, seconds * 250)));
  const window = measureWindow;
  await window?.open();
  counting = true;
  const started = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  counting = false;
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  await window?.close(done);
  stop = true;
  await Promise.all(loops);
  return done / elapsed;
}

/** Linux PSI: share of the last 10 s some task waited for a CPU (other load on a shared box skews every figure). */
function cpuPressure(): string {
  try {
    return `${/avg10=([\d.]+)/.exec(readFileSync('/proc/pressure/cpu', 'utf8'))?.[1] ?? '?'}%`;
  } catch {
    return 'n/a';
  }
}

const userOf = (caller: number, i: number) => `bench-user-${(caller * 7919 + i * 31) % USERS}`;

/** settle() latency per store phase (ms): what a caller waits for its acknowledgement, under the 32-caller load. */
const settleLatency = new Map<string, { p50: number; p99: number }>();

async function engineBench(kind: 'redis' | 'postgres' | 'outbox', db: Database, redis: Redis | null, tag: string = kind): Promise<number> {
  const config = loadConfig({
    DATABASE_URL,
    SOLARIS_MAX_INFLIGHT: '1000',
    SOLARIS_MODEL_WEIGHTS: '{"gpt-4o*":2}',
    SOLARIS_SETTLE_ACK: kind === 'outbox' ? 'outbox' : 'ledger',
  });
  // outbox: SOLARIS_SETTLE_ACK=outbox — acknowledged from the user's Redis stream, drained by this process.
  const drainer = kind === 'outbox' && redis ? new SettleOutbox({ redis, pool: db.pool, timezone: config.SOLARIS_TIMEZONE }) : null;
  const store = createStore(config, db, redis, drainer);
  if (process.env.BENCH_NO_DRAIN !== '1') drainer?.start();
  const engine = new QuotaEngine({ config, db, store });
  // Steady state: every user's counter is built before the clock starts (a cold start rebuilds each counter
  // from Postgres once — 1,000 snapshot queries that bled into the first measured second; bench:load
  // measures cold starts).
  await Promise.all(
    Array.from({ length: CALLERS }, async (_, c) => {
      for (let u = c; u < USERS; u += CALLERS) await engine.balance(`bench-user-${u}`);
    }),
  );
  let refused = 0;
  const settleMs: number[] = [];
  const rate = await measure(SECONDS, async (caller, i) => {
    const userId = userOf(caller, i);
    const requestId = `${tag}-${run}-${caller}-${i}`;
    const r = await engine.reserve({ userId, requestId, estimate: 200 });
    if (!r.ok) {
      refused++;
      return;
    }
    const t0 = performance.now();
    await engine.settle({ userId, requestId, model: 'gpt-4o-mini', promptTokens: 60, completionTokens: 40, source: 'proxy' });
    settleMs.push(performance.now() - t0);
  });
  settleLatency.set(kind, { p50: pct(settleMs, 0.5), p99: pct(settleMs, 0.99) });
  if (drainer) {
    const t0 = Date.now();
    await (store as RedisQuotaStore).flushOutbox();
    console.error(`  (outbox: backlog written ${Date.now() - t0} ms after the phase)`);
  }
  await engine.close();
  if (refused) console.error(`  (${kind}: ${refused} reservations refused — limits too small for the bench?)`);
  return rate;
}

function settlement(i: number, prefix: string): Settlement {
  return {
    requestId: `${prefix}-${run}-${i}`,
    userId: `bench-user-${i % USERS}`,
    model: 'gpt-4o-mini',
    promptTokens: 60,
    completionTokens: 40,
    weightedTokens: 200,
    cost: 0.0001,
    source: 'proxy',
    estimated: false,
    occurredAt: Date.now(),
  };
}

async function ledgerBatchBench(db: Database, tz: string, streams: number): Promise<number> {
  let next = 0;
  const deadline = Date.now() + SECONDS * 500;
  let rows = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: streams }, async () => {
      while (Date.now() < deadline) {
        const batch = Array.from({ length: 500 }, () => settlement(next++, `ing${streams}`));
        await insertLedgerRows(db.pool, batch, tz);
        rows += batch.length;
      }
    }),
  );
  return rows / (Number(process.hrtime.bigint() - started) / 1e9);
}

async function ledgerWriterBench(db: Database, tz: string): Promise<number> {
  const writer = new LedgerWriter(db.pool, tz);
  let next = 0;
  // Many concurrent writers (the settle path of many requests at once): the writer groups them.
  const rate = await measure(SECONDS / 2, async () => {
    const inFlight = Array.from({ length: 16 }, () => writer.write(settlement(next++, 'lw')));
    await Promise.all(inFlight);
  });
  await writer.drain();
  return rate * 16;
}

/** Diagnostic: the ledger part of a decision alone — 32 callers, each awaiting its own durable row (group commit). */
async function ledgerCallersBench(db: Database, tz: string): Promise<number> {
  const writer = new LedgerWriter(db.pool, tz);
  let next = 0;
  const rate = await measure(Math.max(2, SECONDS / 2), async () => {
    await writer.write(settlement(next++, 'lc'));
  });
  await writer.drain();
  return rate;
}

/**
 * Diagnostic: the store's two Lua steps alone (no ledger write, no engine), on the counters the Redis phase
 * built — the part of a decision Redis and ioredis pay; the rest of the Redis store's time is the durable
 * ledger commit each settle waits for.
 */
async function luaPairBench(redis: Redis): Promise<number> {
  type Scripts = {
    solarisReserve(c: string, r: string, ...args: (string | number)[]): Promise<string>;
    solarisSettle(c: string, r: string, m: string, ...args: (string | number)[]): Promise<string>;
  };
  const lua = redis as unknown as Scripts;
  return measure(Math.max(2, SECONDS / 2), async (caller, i) => {
    const k = userKeys(userOf(caller, i));
    const id = `lua-${run}-${caller}-${i}`;
    const now = Date.now();
    const reply = await lua.solarisReserve(k.counter, k.reservations, id, 200, now, 600_000, 1000);
    const pk = reply.split('\n')[REPLY.field.pk] ?? ''; // the reply's period key (lua/reply.ts)
    await lua.solarisSettle(k.counter, k.reservations, k.marker(id), id, 200, pk, now, 3_600_000);
  });
}

/**
 * The Redis store (ledger ack) on one private redis-server and on a private 3-master Redis Cluster, alternating,
 * 2 rounds each: decisions/s and CPU per decision by process — this Node process (process.cpuUsage) and Redis
 * (INFO cpu of every node: the server's whole CPU; INFO commandstats usec: time inside commands) and Postgres
 * (the bench pool's backends, found by application_name, plus the WAL writer: /proc/<pid>/stat).
 */
/** CPU µs so far of each Postgres process serving this bench (its pool's backends) and of the WAL writer. */
async function postgresCpu(admin: pg.Client): Promise<Map<number, number>> {
  const { rows } = await admin.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity WHERE application_name = $1 OR backend_type = 'walwriter'`,
    [APP_NAME],
  );
  const out = new Map<number, number>();
  for (const { pid } of rows) {
    try {
      // Fields after the command name: utime and stime are the 12th and 13th (clock ticks of 10 ms).
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(pid, (Number(f[11]) + Number(f[12])) * 10_000);
    } catch {
      /* Postgres on another host, or the backend ended */
    }
  }
  return out;
}

async function clusterVsSingle(db: Database, admin: pg.Client): Promise<string[]> {
  const [single, cluster] = await Promise.all([startRedisServer(), startRedisCluster()]);
  const targets = [
    { name: 'single node', client: () => new Redis(single.url, { maxRetriesPerRequest: 2 }), nodes: () => [single.client()] },
    { name: '3-master cluster', client: () => cluster.client({ redisOptions: { maxRetriesPerRequest: 2 } }) as unknown as Redis, nodes: () => cluster.ports.map((port) => new Redis({ port, host: '127.0.0.1' })) },
  ];
  const results = new Map<string, { rate: number; nodeUs: number; redisUs: number; cmdUs: number; pgUs: number }[]>(targets.map((t) => [t.name, []]));
  try {
    for (let round = 0; round < 2; round++) {
      for (const t of round === 0 ? targets : [...targets].reverse()) {
        const client = t.client();
        const nodes = t.nodes();
        const redisCpu = async () => {
          let cpu = 0;
          let cmd = 0;
          for (const n of nodes) {
            const info = (await n.info('cpu')) + (await n.info('commandstats'));
            cpu += Number(/used_cpu_user:([\d.]+)/.exec(info)![1]) + Number(/used_cpu_sys:([\d.]+)/.exec(info)![1]);
            for (const m of info.matchAll(/^cmdstat_(?!info)[^:]+:calls=\d+,usec=(\d+)/gm)) cmd += Number(m[1]);
          }
          return { cpuUs: cpu * 1e6, cmdUs: cmd };
        };
        let node0 = process.cpuUsage();
        let redis0 = { cpuUs: 0, cmdUs: 0 };
        let pg0 = new Map<number, number>();
        let sample = { nodeUs: 0, redisUs: 0, cmdUs: 0, pgUs: 0, done: 0 };
        measureWindow = {
          async open() {
            pg0 = await postgresCpu(admin);
            redis0 = await redisCpu();
            node0 = process.cpuUsage();
          },
          async close(done) {
            const node = process.cpuUsage(node0);
            const redis1 = await redisCpu();
            const pg1 = await postgresCpu(admin);
            // A backend that connected during the window counts from zero (its whole life is inside the window).
            const pgUs = [...pg1].reduce((sum, [pid, us]) => sum + us - (pg0.get(pid) ?? 0), 0);
            sample = { nodeUs: node.user + node.system, redisUs: redis1.cpuUs - redis0.cpuUs, cmdUs: redis1.cmdUs - redis0.cmdUs, pgUs, done };
          },
        };
        const rate = await engineBench('redis', db, client, `cmp${round}${targets.indexOf(t)}`);
        measureWindow = null;
        results.get(t.name)!.push({ rate, nodeUs: sample.nodeUs / sample.done, redisUs: sample.redisUs / sample.done, cmdUs: sample.cmdUs / sample.done, pgUs: sample.pgUs / sample.done });
        client.disconnect();
        for (const n of nodes) n.disconnect();
      }
    }
  } finally {
    measureWindow = null;
    await single.stop();
    await cluster.stop();
  }
  type K = 'rate' | 'nodeUs' | 'redisUs' | 'cmdUs' | 'pgUs';
  const med = (name: string, k: K) => pct(results.get(name)!.map((r) => r[k]), 0.5);
  const base = targets[0]!.name;
  return [
    'Redis store (ledger ack) on one redis-server vs a 3-master Redis Cluster, alternating, median of 2 runs each:',
    ...targets.map((t) => {
      const ratio = (k: K) => (med(t.name, k) / med(base, k)).toFixed(2);
      return (
        `  ${t.name.padEnd(17)} ${Math.round(med(t.name, 'rate')).toLocaleString('en-US')} decisions/s (×${ratio('rate')}), CPU per decision: ` +
        `Node ${med(t.name, 'nodeUs').toFixed(0)} µs (×${ratio('nodeUs')}), Redis ${med(t.name, 'redisUs').toFixed(0)} µs all nodes (×${ratio('redisUs')}), ` +
        `of which in commands ${med(t.name, 'cmdUs').toFixed(0)} µs (×${ratio('cmdUs')}), Postgres ${med(t.name, 'pgUs').toFixed(0)} µs (×${ratio('pgUs')})`
      );
    }),
  ];
}

async function main() {
  const schema = `bench_${run}`;
  const admin = new pg.Client({ connectionString: DATABASE_URL });
  await admin.connect();
  await migrate({ client: admin, schema });
  const db = await openDatabase({ databaseUrl: `${DATABASE_URL}${DATABASE_URL.includes('?') ? '&' : '?'}application_name=${APP_NAME}`, schema });
  const prefix = `bench:${run}:`;
  const redis = new Redis(REDIS_URL, { keyPrefix: prefix, maxRetriesPerRequest: 2, enableAutoPipelining: AUTOPIPE });
  // SOLARIS_SETTLE_ACK=outbox needs a Redis with AOF: a private redis-server (appendfsync everysec, Redis's
  // default and the compose file's), with its own INCRBY ceiling measured in the same run.
  // BENCH_AOF_URL: use that Redis (must have appendonly yes) instead, e.g. to read its INFO afterwards.
  const aof = process.env.BENCH_AOF_URL
    ? { url: process.env.BENCH_AOF_URL, stop: async () => {} }
    : await startAofRedis({ appendfsync: (process.env.BENCH_APPENDFSYNC as 'always' | 'everysec' | undefined) ?? 'everysec' });
  const aofRedis = new Redis(aof.url, { maxRetriesPerRequest: 2, enableAutoPipelining: AUTOPIPE });
  const tz = 'America/Sao_Paulo';
  try {
    const pressureBefore = cpuPressure();
    // Everyone on a plan big enough that nobody runs out during the bench.
    const setup = new QuotaEngine({ config: loadConfig({ DATABASE_URL }), db, store: createStore(loadConfig({ DATABASE_URL }), db, null) });
    await setup.admin.upsertPlan({ id: 'bench', name: 'Bench', tokenLimit: 1_000_000_000_000, period: 'month', isDefault: true }, ADMIN);

    // BENCH_ONLY=<phase>: that phase alone, for A/B runs (BENCH_NO_DRAIN=1: the outbox drainer off during it).
    const only = process.env.BENCH_ONLY;
    if (only) {
      const store = async (label: string, kind: 'redis' | 'outbox' | 'postgres', r: Redis | null) => {
        const rate = await engineBench(kind, db, r);
        const l = settleLatency.get(kind)!;
        return `${label}: ${Math.round(rate)} decisions/s, settle p50/p99 ${l.p50.toFixed(2)}/${l.p99.toFixed(2)} ms`;
      };
      const phases: Record<string, () => Promise<string>> = {
        redis: () => store('Redis store, ledger ack', 'redis', redis),
        outbox: () => store('Redis store, outbox ack', 'outbox', aofRedis),
        postgres: () => store('Postgres store', 'postgres', null),
        ingest: async () => `ledger ingest 500-row batches: ×1 ${Math.round(await ledgerBatchBench(db, tz, 1))}, ×2 ${Math.round(await ledgerBatchBench(db, tz, 2))} rows/s`,
        cluster: async () => (await clusterVsSingle(db, admin)).join('\n'),
      };
      const phase = phases[only];
      if (!phase) throw new Error(`BENCH_ONLY must be one of ${Object.keys(phases).join(', ')}`);
      console.log(`${await phase()} (CPU pressure ${cpuPressure()})`);
      return;
    }
    const bareIncr = await measure(Math.max(2, SECONDS / 2), async (caller, i) => {
      await redis.incrby(`incr:${userOf(caller, i)}`, 1);
    });
    const redisRate = await engineBench('redis', db, redis);
    const aofIncr = await measure(Math.max(2, SECONDS / 2), async (caller, i) => {
      await aofRedis.incrby(`incr:${userOf(caller, i)}`, 1);
    });
    const outboxRate = await engineBench('outbox', db, aofRedis);
    const pgRate = await engineBench('postgres', db, null);
    const ingest1 = await ledgerBatchBench(db, tz, 1);
    const ingest2 = await ledgerBatchBench(db, tz, 2);
    const writer = await ledgerWriterBench(db, tz);

    // Sanity: counters equal the ledger (no lost or double-counted token under load).
    const { rows } = await db.pool.query<{ n: number; s: number }>(
      `SELECT count(*)::int AS n, COALESCE(sum(weighted_tokens), 0)::bigint AS s FROM ledger WHERE request_id LIKE 'redis-%'`,
    );
    let counted = 0;
    for (let u = 0; u < USERS; u++) counted += Number(await redis.hget(`sq:{bench-user-${u}}:c`, 'used'));
    const { rows: ob } = await db.pool.query<{ n: number; s: number }>(
      // The outbox phase's counters were rebuilt from a ledger that already held the ledger-ack phase's rows.
      `SELECT count(*)::int AS n, COALESCE(sum(weighted_tokens), 0)::bigint AS s FROM ledger WHERE request_id LIKE 'outbox-%' OR request_id LIKE 'redis-%'`,
    );
    let obCounted = 0;
    for (let u = 0; u < USERS; u++) obCounted += Number(await aofRedis.hget(`sq:{bench-user-${u}}:c`, 'used'));
    const consistent = counted === Number(rows[0]!.s) && obCounted === Number(ob[0]!.s);
    const luaPairs = await luaPairBench(redis); // after the check: it moves the counters without ledger rows
    const ledgerCallers = await ledgerCallersBench(db, tz);

    const f = (n: number) => Math.round(n).toLocaleString('en-US');
    const table = [
      ['measure', 'per second', 'ratio', 'target', 'ok'],
      ['bare Redis INCRBY (ceiling)', f(bareIncr), '1.00', '—', ''],
      ['Redis store reserve+settle, ledger ack', f(redisRate), (redisRate / bareIncr).toFixed(2), '≥ 0.33 × INCRBY', redisRate >= 0.33 * bareIncr ? 'yes' : 'NO'],
      ['  of which Lua pair alone (diagnostic)', f(luaPairs), (luaPairs / bareIncr).toFixed(2), '—', ''],
      ['  of which ledger write alone, 32 callers', f(ledgerCallers), (ledgerCallers / bareIncr).toFixed(2), '—', ''],
      [`bare INCRBY, Redis with AOF ${process.env.BENCH_APPENDFSYNC ?? 'everysec'}`, f(aofIncr), '1.00', '—', ''],
      ['Redis store reserve+settle, outbox ack', f(outboxRate), (outboxRate / aofIncr).toFixed(2), '≥ 0.33 × AOF INCRBY', outboxRate >= 0.33 * aofIncr ? 'yes' : 'NO'],
      ['Postgres store reserve+settle', f(pgRate), (pgRate / bareIncr).toFixed(2), '≥ 2,000', pgRate >= 2000 ? 'yes' : 'NO'],
      ['ledger ingest, 500-row batches ×1', f(ingest1), '', '≥ 30,000 rows', ingest1 >= 30000 ? 'yes' : 'NO'],
      ['ledger ingest, 500-row batches ×2', f(ingest2), '', '≥ 30,000 rows', ingest2 >= 30000 ? 'yes' : 'NO'],
      ['LedgerWriter, 512 concurrent writes', f(writer), '', '(group commit)', ''],
    ];
    const widths = table[0]!.map((_, c) => Math.max(...table.map((r) => r[c]!.length)));
    console.log(`\nquota bench — ${USERS} users, ${CALLERS} concurrent callers, ${SECONDS} s per phase, Node ${process.version}`);
    for (const r of table) console.log(r.map((cell, c) => (c === 1 || c === 2 ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  '));
    const lat = (k: string) => {
      const l = settleLatency.get(k);
      return l ? `${l.p50.toFixed(2)} / ${l.p99.toFixed(2)}` : '—';
    };
    console.log(`settle() latency p50 / p99 ms: Redis ledger ack ${lat('redis')}, Redis outbox ack ${lat('outbox')}, Postgres store ${lat('postgres')}`);
    console.log(
      `Redis counters == ledger sum (ledger ack, outbox ack after the drain): ${consistent ? 'yes' : `NO (${counted} vs ${rows[0]!.s}; ${obCounted} vs ${ob[0]!.s})`}`,
    );
    console.log((await clusterVsSingle(db, admin)).join('\n'));
    console.log(`CPU pressure (PSI some avg10) before / after: ${pressureBefore} / ${cpuPressure()} — above ~20 % the box is shared and figures drop`);
    if (!consistent) process.exitCode = 1;
  } finally {
    await db.close();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
    await deleteRedisPrefix(REDIS_URL, prefix);
    redis.disconnect();
    aofRedis.disconnect();
    await aof.stop();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
