/**
 * npm run bench:statement — the statement ("extrato") at scale, in one run:
 *   1. bulk-loads a ledger of ROWS rows across USERS users (server-side INSERT … SELECT generate_series, in
 *      parallel chunks; the table keeps all its indexes and triggers, as in production);
 *   2. bare SQL: the keyset page query readStatementJson runs, straight through a pg pool (the floor);
 *   3. engine.statementJson(): page + totals + balance-after + the counter read (no HTTP), what the route sends;
 *   4. GET /solaris/api/statement through the real HTTP API (auth, rate limit in Redis, validation, JSON);
 *   5. ledger ingest through LedgerWriter (group commit), many concurrent settlements.
 * Sequential requests for latency (p50/p99 over BENCH_SAMPLES), targets: HTTP p99 ≤ 5 ms, ingest ≥ 30,000 rows/s.
 * The HTTP client runs in a worker thread: its own V8 heap, as a browser would be, so the client's garbage does not
 * pause the server it measures (in the same heap it did, in ~1 % of the samples: the whole p99).
 * Env: DATABASE_URL, REDIS_URL, BENCH_ROWS (1000000), BENCH_USERS (10000), BENCH_SAMPLES (2000),
 * BENCH_INGEST_ROWS (200000), BENCH_PROF=http|heap (CPU or allocation profile of the HTTP phase). A throwaway schema and Redis key prefix are created and removed.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';
import { Session } from 'node:inspector';
import { Worker, isMainThread, parentPort } from 'node:worker_threads';
import { mkdirSync, writeFileSync } from 'node:fs';
import jwt from 'jsonwebtoken';
import pg from 'pg';
import { Redis } from 'ioredis';
import { Agent, request } from 'undici';
import { API_PREFIX, ApiRoutes, type StatementPageDTO } from '@solaris/wire';
import { loadConfig } from '../server-extension/src/core/config';
import { openDatabase } from '../server-extension/src/core/db';
import { migrate } from '../server-extension/src/core/migrate';
import { createEngine } from '../server-extension/src/core/create-engine';
import { LEDGER_COLUMNS, LedgerWriter } from '../server-extension/src/core/ledger';
import { readStatementJson } from '../server-extension/src/core/statement';
import { createLimiter } from '../server-extension/src/adapters/http/rate-limit';
import type { Settlement } from '../server-extension/src/core/quota-store';
import { createSolarisServer } from '../server-extension/src/app';
import { createLibreChatAuthenticator } from '../server-extension/src/adapters/auth';
import { arg, deleteRedisPrefix, fixed, pct } from './_shared';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const ROWS = arg('rows', 'BENCH_ROWS', 1_000_000);
const USERS = arg('users', 'BENCH_USERS', 10_000);
const SAMPLES = arg('samples', 'BENCH_SAMPLES', 2_000);
const INGEST_ROWS = arg('ingest', 'BENCH_INGEST_ROWS', 200_000);
const TZ = 'America/Sao_Paulo';
const SECRET = 'bench-statement-secret';

const f = (n: number, d = 2) => fixed(n, d);
/**
 * BENCH_PROF=http: a CPU profile of this process (client and server) during the HTTP phase; BENCH_PROF=heap: a
 * sampling profile of everything allocated in it, collected garbage included (what drives the GC pauses in
 * the p99). Written to bench-profiles/.
 */
const PROFILE = process.env.BENCH_PROF === 'http' || process.env.BENCH_PROF === 'heap' ? process.env.BENCH_PROF : null;

async function startProfile(kind: 'http' | 'heap'): Promise<() => Promise<string>> {
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) => session.post(method, params ?? {}, (e, r) => (e ? reject(e) : resolve(r))));
  if (kind === 'heap') {
    await post('HeapProfiler.enable');
    await post('HeapProfiler.startSampling', { samplingInterval: 512, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  } else {
    await post('Profiler.enable');
    await post('Profiler.setSamplingInterval', { interval: 100 });
    await post('Profiler.start');
  }
  return async () => {
    const { profile } = (await post(kind === 'heap' ? 'HeapProfiler.stopSampling' : 'Profiler.stop')) as { profile: object };
    session.disconnect();
    mkdirSync('bench-profiles', { recursive: true });
    const file = `bench-profiles/statement-http-${Date.now()}.${kind === 'heap' ? 'heapprofile' : 'cpuprofile'}`;
    writeFileSync(file, JSON.stringify(profile));
    return file;
  };
}

/**
 * Latency samples of one path, plus the Node process's CPU and GC time while they ran (noise-robust companions),
 * and how many samples a GC pause fell into (a pause inside ~1 % of the samples sets the p99 by itself).
 */
type Timed = number[] & { cpuMs: number; gcMs: number; gcs: number; inGc: number; allocKb: number };
const newSpaceUsed = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')!.space_used_size;
const gcPauses: Array<{ start: number; end: number }> = []; // absolute ms (timeOrigin + startTime), comparable across threads
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcPauses.push({ start: performance.timeOrigin + e.startTime, end: performance.timeOrigin + e.startTime + e.duration });
}).observe({ entryTypes: ['gc'] });
const absNow = () => performance.timeOrigin + performance.now();

/** Sequential calls of `op` after a warm-up; the samples with their absolute start times. */
async function sampleLocal(n: number, op: () => Promise<void>): Promise<{ out: number[]; starts: number[] }> {
  for (let i = 0; i < Math.min(200, n / 5); i++) await op(); // warm-up (JIT, plans, caches)
  const out: number[] = [];
  const starts: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = absNow();
    await op();
    starts.push(t);
    out.push(absNow() - t);
  }
  return { out, starts };
}

async function timeIt(n: number, op: () => Promise<void>): Promise<Timed> {
  return timed(() => sampleLocal(n, op), op);
}

/**
 * The samples plus this process's CPU and GC time while they ran, how many samples a GC pause of this (server)
 * thread fell into, and the young-generation bytes this thread allocates per call (`allocOp`, untimed pass).
 */
async function timed(sample: () => Promise<{ out: number[]; starts: number[] }>, allocOp: () => Promise<void>): Promise<Timed> {
  const [gc0, cpu0] = [gcPauses.length, process.cpuUsage()];
  const { out, starts } = await sample();
  const n = out.length;
  const cpu = process.cpuUsage(cpu0);
  await new Promise((r) => setImmediate(r)); // GC entries are delivered asynchronously
  const pauses = gcPauses.slice(gc0);
  let inGc = 0;
  for (let i = 0, j = 0; i < n; i++) {
    const [s0, s1] = [starts[i]!, starts[i]! + out[i]!];
    while (j < pauses.length && pauses[j]!.end < s0) j++;
    if (j < pauses.length && pauses[j]!.start <= s1) inGc++;
  }
  // Bytes allocated per call (young generation), in a separate untimed pass: calls that saw a scavenge are skipped.
  let bytes = 0;
  let counted = 0;
  const own = newSpaceUsed() - newSpaceUsed(); // the measurement's own allocation (~0)
  for (let i = 0; i < 200; i++) {
    const before = newSpaceUsed();
    await allocOp();
    const after = newSpaceUsed();
    if (after >= before) {
      bytes += after - before + own;
      counted++;
    }
  }
  return Object.assign(out, {
    allocKb: bytes / 1024 / Math.max(1, counted),
    cpuMs: (cpu.user + cpu.system) / 1000 / n,
    gcMs: pauses.reduce((sum, p) => sum + p.end - p.start, 0),
    gcs: pauses.length,
    inGc,
  });
}

// ---------------------------------------------------------------- the HTTP client, in a worker thread

type ClientMsg = { id: number; url: string; headers: Record<string, string>; n: number };

/** Worker side: keep-alive undici client, one connection; `n` sequential GETs (after a warm-up when n > 1). */
function clientWorker(): void {
  const agent = new Agent({ keepAliveTimeout: 60_000, connections: 1 });
  const get = async (url: string, headers: Record<string, string>) => {
    const r = await request(url, { headers, dispatcher: agent });
    await r.body.arrayBuffer();
    if (r.statusCode !== 200) throw new Error(`HTTP ${r.statusCode} from ${url}`);
  };
  parentPort!.on('message', (m: ClientMsg) => {
    void (async () => {
      const out: number[] = [];
      const starts: number[] = [];
      try {
        if (m.n > 1) for (let i = 0; i < Math.min(200, m.n / 5); i++) await get(m.url, m.headers);
        for (let i = 0; i < m.n; i++) {
          const t = absNow();
          await get(m.url, m.headers);
          starts.push(t);
          out.push(absNow() - t);
        }
        parentPort!.postMessage({ id: m.id, out, starts });
      } catch (e) {
        parentPort!.postMessage({ id: m.id, error: String(e) });
      }
    })();
  });
}

/** Main side: GETs run by the worker; the server (this thread) is measured while it waits. */
function startClient() {
  const worker = new Worker(__filename);
  let next = 0;
  const pending = new Map<number, (r: { out: number[]; starts: number[]; error?: string }) => void>();
  worker.on('message', (r: { id: number; out: number[]; starts: number[]; error?: string }) => pending.get(r.id)?.(r));
  const run = (url: string, headers: Record<string, string>, n: number) =>
    new Promise<{ out: number[]; starts: number[] }>((resolve, reject) => {
      const id = next++;
      pending.set(id, (r) => {
        pending.delete(id);
        if (r.error) reject(new Error(r.error));
        else resolve(r);
      });
      worker.postMessage({ id, url, headers, n } satisfies ClientMsg);
    });
  return {
    time: (n: number, url: string, headers: Record<string, string>) => timed(() => run(url, headers, n), async () => void (await run(url, headers, 1))),
    close: () => worker.terminate(),
  };
}

async function main(): Promise<void> {
  const run = randomBytes(3).toString('hex');
  // --reuse=SCHEMA: a schema kept by an earlier --keep run (skips the 10–20 s load while iterating; not for table rows).
  const reuse = process.argv.find((a) => a.startsWith('--reuse='))?.split('=')[1];
  if (reuse !== undefined && !/^bench_stmt_[0-9a-f]{6}$/.test(reuse)) throw new Error(`--reuse wants a kept bench_stmt_xxxxxx schema`);
  const schema = reuse ?? `bench_stmt_${run}`;
  const prefix = `bench:stmt:${run}:`;
  const admin = new pg.Client({ connectionString: DATABASE_URL });
  await admin.connect();
  if (!reuse) {
    await migrate({ client: admin, schema });
    // The months the load spreads rows over (90 days back), created before it as an import would
    // (docs/ledger-partitions.md): the rows go to their months, not to the DEFAULT partition.
    await admin.query(`SET search_path = ${schema}, public`);
    await admin.query(`SELECT solaris_ledger_ensure_partitions(now() - interval '91 days', 4)`);
    await admin.query('RESET search_path');
  }
  let server: Server | null = null;
  const cleanups: Array<() => Promise<unknown>> = [];
  console.log(`bench:statement — ${ROWS.toLocaleString('en-US')} ledger rows, ${USERS.toLocaleString('en-US')} users, ${SAMPLES} sequential samples per path, Node ${process.version}, schema ${schema}`);
  try {
    // ---------- 1. bulk load ----------
    const t0 = performance.now();
    if (!reuse) {
      const chunks = 4;
      const per = Math.ceil(ROWS / chunks);
      await Promise.all(
        Array.from({ length: chunks }, async (_, c) => {
          const client = new pg.Client({ connectionString: DATABASE_URL });
          await client.connect();
          await client.query(`SET search_path = ${schema}; SET synchronous_commit = off`);
          // Rows spread over the last 90 days; user i has rows i, i + USERS, … (ROWS / USERS each).
          await client.query(
            // Each row with its request id key (docs/ledger-partitions.md), as the writers do.
            `WITH k AS (INSERT INTO ledger_request_ids (request_id, created_at)
                        SELECT 'bulk-' || g, now() - (g::float8 / $5) * interval '90 days' FROM generate_series($1::bigint, $2::bigint) g
                        RETURNING request_id, seq, created_at)
             INSERT INTO ledger (seq, request_id, user_id, model, prompt_tokens, completion_tokens, total_tokens, weighted_tokens, cost, source,
                                 estimated, conversation_id, message_id, period_key, created_at)
             SELECT k.seq, k.request_id, 'bu' || (g % $3), CASE WHEN g % 3 = 0 THEN 'gpt-4o' ELSE 'gpt-4o-mini' END, 400 + g % 300, 150 + g % 200,
                    550 + g % 300 + g % 200, 550 + g % 300 + g % 200, 0.0004, 'proxy', false, 'conv-' || (g % 997), NULL,
                    solaris_period_key('month', k.created_at, $4), k.created_at
             FROM k, LATERAL (SELECT substr(k.request_id, 6)::bigint AS g) n`,
            [c * per + 1, Math.min(ROWS, (c + 1) * per), USERS, TZ, ROWS],
          );
          await client.end();
        }),
      );
      await admin.query(`ANALYZE ${schema}.ledger; ANALYZE ${schema}.ledger_request_ids`);
    }
    const loadS = (performance.now() - t0) / 1000;
    console.log(`bulk load: ${ROWS.toLocaleString('en-US')} rows in ${f(loadS, 1)} s (${Math.round(ROWS / loadS).toLocaleString('en-US')} rows/s, 4 parallel INSERT … SELECT)`);

    // ---------- the stack: engine on Redis + Postgres, HTTP API ----------
    const config = loadConfig({ DATABASE_URL, REDIS_URL, SOLARIS_TIMEZONE: TZ, LOG_LEVEL: 'error' });
    const db = await openDatabase({ databaseUrl: DATABASE_URL, schema, max: 10 });
    const redis = new Redis(REDIS_URL, { keyPrefix: prefix, maxRetriesPerRequest: 2 });
    const rt = await createEngine({ config, db, redis, migrate: false });
    cleanups.push(() => rt.close());
    const authenticator = createLibreChatAuthenticator({
      engine: rt.engine,
      config,
      secrets: () => ({ access: SECRET, refresh: SECRET + '-r' }),
      userDirectory: async () => ({ email: 'bench@example.com', name: 'Bench', role: 'USER' }),
    });
    const solaris = createSolarisServer({ engine: rt.engine, config, authenticator, redis, rateLimits: { api: { points: 1_000_000, duration: 60 } } });
    server = createServer((req, res) => solaris.handle(req, res));
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const agent = new Agent({ keepAliveTimeout: 60_000, connections: 1 }); // the probe's; timed requests go through the worker
    cleanups.push(() => agent.close());
    const client = startClient();
    cleanups.push(() => client.close());

    const userId = `bu${Math.floor(USERS / 2)}`;
    const token = jwt.sign({ id: userId, username: 'bench', provider: 'local', email: 'bench@example.com' }, SECRET, { algorithm: 'HS256', expiresIn: 3600 });
    const probe = (await (await request(`${url}${API_PREFIX}${ApiRoutes.statement}`, { headers: { authorization: `Bearer ${token}` }, dispatcher: agent })).body.json()) as StatementPageDTO;
    // A reused schema also holds the rows an earlier run's ingest phase added.
    if (probe.items.length !== 50 || (reuse ? probe.totals.requests < Math.floor(ROWS / USERS) : probe.totals.requests !== Math.floor(ROWS / USERS))) throw new Error(`unexpected statement: ${probe.items.length} items, ${probe.totals.requests} total`);

    // ---------- 2. bare SQL keyset page (the same text readStatementJson sends) ----------
    const pageSql = `SELECT ${LEDGER_COLUMNS}, created_at::text AS created_text FROM ledger WHERE user_id = $1 ORDER BY created_at DESC, seq DESC LIMIT $2`;
    const bare = await timeIt(SAMPLES, async () => {
      await db.pool.query(pageSql, [userId, 51]);
    });
    const { rows: plan } = await db.pool.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${pageSql.replace('$1', `'${userId}'`).replace('$2', '51')}`);
    const exec = plan.map((r) => r['QUERY PLAN']).find((l) => l.startsWith('Execution Time')) ?? '';

    // ---------- 3. engine.statementJson (page + totals + balance after + counter: what the HTTP route sends) ----------
    const engineT = await timeIt(SAMPLES, async () => {
      await rt.engine.statementJson(userId, {});
    });

    // ---------- 4. HTTP API ----------
    const headers = { authorization: `Bearer ${token}` };
    const stopProfile = PROFILE ? await startProfile(PROFILE) : null;
    const http = await client.time(SAMPLES, `${url}${API_PREFIX}${ApiRoutes.statement}`, headers);
    if (stopProfile) console.log(`${PROFILE === 'heap' ? 'Allocation' : 'CPU'} profile of the HTTP phase (its figures are inflated by the profiler): ${await stopProfile()}`);
    const page2 = await client.time(Math.min(SAMPLES, 500), `${url}${API_PREFIX}${ApiRoutes.statement}?cursor=${probe.nextCursor}`, headers);

    // ---------- 4b. where the time goes: each piece of the HTTP path alone (same user, sequential) ----------
    // The queries exactly as readStatementJson sends them (captured through a recording Queryable), named or not.
    const sent: pg.QueryConfig[] = [];
    const recorder = {
      query: (q: string | pg.QueryConfig, values?: unknown[]) => {
        const c = typeof q === 'string' ? { text: q, values } : q;
        sent.push(c);
        return db.pool.query(c);
      },
    } as unknown as pg.Pool;
    await readStatementJson(recorder, userId, {}, { now: Date.now(), timeZone: rt.engine.config.SOLARIS_TIMEZONE });
    const parts: Array<[string, Timed]> = [];
    for (const q of sent) {
      const name = /WITH cur/.test(q.text) ? 'account page query (lines + balance-after + account)' : /count\(\*\)/.test(q.text) ? 'totals query' : q.text.trim().slice(0, 40);
      parts.push([`${name} (alone${q.name ? ', named' : ''})`, await timeIt(SAMPLES, async () => void (await db.pool.query(q)))]);
    }
    parts.push(['counter read (store.state, Redis)', await timeIt(SAMPLES, async () => void (await rt.engine.store.state(userId, Date.now())))]);
    const limiter = createLimiter('bench', { points: 1_000_000, duration: 60 }, redis);
    parts.push(['rate-limit consume (Redis)', await timeIt(SAMPLES, async () => void (await limiter.consume(userId)))]);
    parts.push(['authenticate (JWT verify, cached profile)', await timeIt(SAMPLES, async () => void (await authenticator.authenticate({ authorization: `Bearer ${token}` })))]);
    // The same HTTP stack (express router, auth, rate limit) around the smallest read: what the stack costs.
    parts.push([
      'GET /balance (HTTP: auth, rate limit, counter read)',
      await client.time(SAMPLES, `${url}${API_PREFIX}${ApiRoutes.balance}`, headers),
    ]);
    // The transport floor: the same client and agent settings against a bare node:http server that answers the
    // same page, already serialised (no express, auth, rate limit, queries).
    const body = await rt.engine.statementJson(userId, {});
    const floorServer = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    });
    floorServer.keepAliveTimeout = 60_000;
    await new Promise<void>((r) => floorServer.listen(0, '127.0.0.1', r));
    const floorUrl = `http://127.0.0.1:${(floorServer.address() as AddressInfo).port}/`;
    parts.push(['HTTP floor: bare node:http, same body', await client.time(SAMPLES, floorUrl, headers)]);
    floorServer.closeAllConnections();
    await new Promise((r) => floorServer.close(r));

    // ---------- 5. ingest through LedgerWriter ----------
    const writer = new LedgerWriter(db.pool, TZ);
    const settlement = (i: number): Settlement => ({
      requestId: i < 0 ? `warm-${run}${i}` : `ing-${run}-${i}`,
      userId: `bu${i % USERS}`,
      model: 'gpt-4o-mini',
      promptTokens: 60,
      completionTokens: 40,
      weightedTokens: 100,
      cost: 0.0001,
      source: 'proxy',
      estimated: false,
      occurredAt: Date.now(),
    });
    // Warm-up, then INGEST_ROWS settlements with up to 4,000 in flight (many requests settling at once).
    await Promise.all(Array.from({ length: 2_000 }, (_, i) => writer.write(settlement(-1 - i))));
    const ti = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 4_000 }, async () => {
        while (next < INGEST_ROWS) await writer.write(settlement(next++));
      }),
    );
    await writer.drain();
    const ingest = INGEST_ROWS / ((performance.now() - ti) / 1000);
    const { rows: cnt } = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ledger WHERE request_id LIKE $1`, [`ing-${run}-%`]);
    if (cnt[0]!.n !== INGEST_ROWS) throw new Error(`ingest wrote ${cnt[0]!.n} rows, expected ${INGEST_ROWS}`);

    // ---------- report ----------
    const b50 = pct(bare, 0.5);
    const row = (name: string, a: Timed, target = '', ok = '') =>
      `${name.padEnd(52)}${f(pct(a, 0.5)).padStart(8)}${f(pct(a, 0.99)).padStart(8)}${f(pct(a, 0.5) / b50).padStart(10)}${f(a.cpuMs, 3).padStart(9)}${f(a.allocKb, 0).padStart(7)}${`${a.gcs}/${f(a.gcMs, 0)}/${a.inGc}`.padStart(12)}  ${target.padEnd(12)}${ok}`;
    const verdict = (a: Timed) => (pct(a, 0.99) <= 5 ? 'ok' : 'MISSED');
    console.log(
      `\n${('statement page (50 rows of ' + ROWS / USERS + ', one user)').padEnd(52)}${'p50 ms'.padStart(8)}${'p99'.padStart(8)}${'×bare p50'.padStart(10)}${'CPU ms'.padStart(9)}${'kB'.padStart(7)}${'GC n/ms/hit'.padStart(12)}  target`,
    );
    console.log(row('bare SQL keyset query (pg pool)', bare, '~1.5 ms p99', ''));
    console.log(row('engine.statementJson (page+totals+balance)', engineT));
    console.log(row('GET /solaris/api/statement (HTTP)', http, 'p99 ≤ 5 ms', verdict(http)));
    console.log(row('GET …/statement?cursor= (page 2, HTTP)', page2, 'p99 ≤ 5 ms', verdict(page2)));
    console.log('  where the time goes (each piece alone; CPU ms = this Node process, client thread included; kB = young-generation bytes the server thread allocates per call):');
    for (const [name, t] of parts) console.log(row(`  ${name}`, t));
    console.log(`Postgres execution time of the page query: ${exec.replace('Execution Time: ', '')}`);
    console.log(`\nledger ingest through LedgerWriter: ${Math.round(ingest).toLocaleString('en-US')} rows/s (${INGEST_ROWS.toLocaleString('en-US')} rows, 4,000 concurrent writers) — target ≥ 30,000: ${ingest >= 30_000 ? 'ok' : 'MISSED'}`);
  } finally {
    if (server) {
      server.closeAllConnections();
      await new Promise((r) => server!.close(r));
    }
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    if (process.argv.includes('--keep') || reuse) console.log(`kept schema ${schema} (--keep)`);
    else await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
    await deleteRedisPrefix(REDIS_URL, prefix);
  }
}

if (!isMainThread) clientWorker();
else
  main().then(
    () => process.exit(0),
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
