/**
 * npm run bench:proxy — streaming latency and throughput of the metering proxy, in one run:
 *   direct  : client → fake upstream
 *   relay   : client → bare node:http + undici relay (no metering) → fake upstream   (the floor)
 *   proxy   : client → metering proxy (reserve / SSE meter / settle on real Postgres + Redis) → fake upstream
 *   no-meter: the same proxy with its quota store unreachable and SOLARIS_FAIL_MODE=open (handler cost
 *             without the Redis/Postgres round trips; diagnostic row)
 * at 50 and 200 concurrent streaming clients. The fake upstream streams 20 chunks 5 ms apart (+ usage
 * chunk when asked), like the reference measurements in shared/reference/performance-ceilings.md.
 *
 * Each server runs in its own process (forks of this script), the client harness in the parent; on a
 * 2-core box they share the CPUs, so read the figures as ratios within this run.
 * Env: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test), REDIS_URL (default
 * redis://127.0.0.1:6379), BENCH_STORE=redis|postgres (default redis), BENCH_SECONDS (default 6),
 * BENCH_SETTLE_ACK=outbox (the proxy's engine acknowledges settlements from the Redis outbox: it then runs on a
 * private redis-server with appendonly yes, appendfsync everysec; default ledger).
 * Open loop (bench/_proxy-open.ts): BENCH_BEFORE=name=<build>/proxy.cjs,… adds older builds' proxies (BENCH_BEFORE_TAIL=1
 * when they have the tail probes), BENCH_LEDGER='name={writer options};…' variants of this build's ledger writer.
 * Diagnostics: BENCH_PROF=proxy|handler|relay|upstream|proxy-outbox|before-ledger|… (comma-separated) runs those
 * children with --cpu-prof (profiles in ./bench-profiles, named by child); BENCH_TRACE=1 prints, per server, the p50/p90/p99 of each stage of a request
 * (body read, estimate, reserve, upstream call, first write: see createTracer); BENCH_AUTOPIPE=1 gives the proxy's ioredis client enableAutoPipelining (production
 * does not set it; an A/B switch only).
 * A throwaway Postgres schema and Redis key prefix are created and removed.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Agent, Pool, request } from 'undici';
import pg from 'pg';
import { Redis } from 'ioredis';
import { deleteRedisPrefix, fixed, pct } from './_shared';
import { startAofRedis } from '../server-extension/src/dev/redis-server';
import { createTailTracker, runOpenPhase, traceSettle, type OpenTarget, type TailTracker } from './_proxy-open';
import { createTracer, SEGMENTS, windowProfile, type Tracer } from './_proxy-trace';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const STORE = process.env.BENCH_STORE === 'postgres' ? 'postgres' : 'redis';
const SETTLE_ACK = STORE === 'redis' && process.env.BENCH_SETTLE_ACK === 'outbox' ? 'outbox' : 'ledger';
const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);
const WARMUP_MS = 1_500;
const ROUNDS = 3;
/** Open-loop phase (fixed offered load, issue 19); BENCH_SATURATION=0 skips the closed-loop rows. */
const OPEN = process.env.BENCH_OPEN !== '0';
const OPEN_OUTBOX = STORE === 'redis' && process.env.BENCH_OPEN_OUTBOX !== '0';
const SATURATION = process.env.BENCH_SATURATION !== '0';
/**
 * Other builds of this bench, `path` or `name=path,…` (e.g. dist/bench-before/proxy.cjs): their proxies join the
 * open loop as `<name>-ledger` / `<name>-outbox` (name default `before`): same-run A/B of a change.
 */
const BEFORE = (process.env.BENCH_BEFORE ?? '')
  .split(',')
  .filter(Boolean)
  .map((x) => (x.includes('=') ? (x.split('=', 2) as [string, string]) : (['before', x] as [string, string])));
/** The before builds have the tail probes too (BENCH_BEFORE_TAIL=1: builds from session 8 on). */
const BEFORE_TAIL = process.env.BENCH_BEFORE_TAIL === '1';
/**
 * Ledger writer variants of this build in the open loop, `name={json};…` (e.g. `c1={"maxConcurrentBatches":1}`):
 * each a proxy-ledger child `ledger-<name>` whose writer options are set from the outside (BENCH_LEDGER_OPTS).
 */
const LEDGER_VARIANTS = (process.env.BENCH_LEDGER ?? '')
  .split(';')
  .filter(Boolean)
  .map((x) => [x.slice(0, x.indexOf('=')), x.slice(x.indexOf('=') + 1)] as [string, string]);
const CONCURRENCY = (process.env.BENCH_CONCURRENCY ?? '50,200').split(',').map(Number);
const KEY = 'bench-proxy-key';
const CHAT_BODY = JSON.stringify({
  model: 'fake-model',
  stream: true,
  max_tokens: 64,
  messages: [
    { role: 'system', content: 'Você é um assistente prestativo.' },
    { role: 'user', content: 'Explique em poucas palavras o que é um proxy de medição de tokens.' },
  ],
});

type Msg = { type: string; [k: string]: unknown };


const TRACE = process.env.BENCH_TRACE === '1';
/** Inside relay / proxy children: upstream's last byte → client's last write, and its steps (open-loop phase). */
const TAIL = process.env.BENCH_TAIL !== '0';

// ---------------------------------------------------------------- child roles

async function roleUpstream(): Promise<void> {
  const { startFakeUpstream } = await import('../server-extension/src/dev/fake-upstream');
  const fake = await startFakeUpstream({ chunkDelayMs: 5, chunks: 20, record: false });
  serveIpc({ url: fake.url });
}

async function roleRelay(upstream: string): Promise<void> {
  const agent = new Agent({ keepAliveTimeout: 30_000 });
  const tracer = createTracer(TRACE);
  const tail = createTailTracker(TAIL);
  let seq = 0;
  const server = createServer((req, res) => {
    tracer.onRequest(req, res);
    tail.onResponse(res);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      const user = String(req.headers['x-solaris-user-id']);
      const id = TRACE ? user : TAIL ? `r${++seq}` : '';
      if (TRACE) tracer.link(user, user);
      if (id) headers['x-request-id'] = id;
      request(upstream + req.url, { method: 'POST', headers, body: Buffer.concat(chunks), dispatcher: agent }).then(
        (up) => {
          const out: Record<string, string> = { 'content-type': String(up.headers['content-type'] ?? 'text/event-stream') };
          if (id) out['x-solaris-request-id'] = id;
          res.writeHead(up.statusCode, out);
          up.body.on('data', (c: Buffer) => {
            if (!res.write(c)) {
              up.body.pause();
              res.once('drain', () => up.body.resume());
            }
          });
          up.body.on('end', () => res.end());
          up.body.on('error', () => res.destroy());
        },
        () => {
          res.writeHead(502);
          res.end();
        },
      );
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  serveIpc({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }, undefined, tracer, tail);
}

/**
 * `handlerOnly`: the same proxy whose quota store is unreachable (Redis with no offline queue on a closed
 * port) and SOLARIS_FAIL_MODE=open, so every request runs the whole handler (auth, body, tokenizer, SSE
 * meter) but no metering round trip: it separates the handler's cost from Redis/Postgres hops.
 */
async function roleProxy(upstream: string, schema: string, prefix: string, handlerOnly = false): Promise<void> {
  const { loadConfig } = await import('../server-extension/src/core/config');
  const { openDatabase } = await import('../server-extension/src/core/db');
  const { createEngine } = await import('../server-extension/src/core/create-engine');
  const { createMeteringProxy, createMetrics } = await import('../server-extension/src/adapters/proxy');
  const config = loadConfig({
    DATABASE_URL,
    REDIS_URL: STORE === 'redis' ? REDIS_URL : '',
    SOLARIS_SETTLE_ACK: handlerOnly ? 'ledger' : SETTLE_ACK,
    SOLARIS_PROXY_KEY: KEY,
    SOLARIS_MAX_INFLIGHT: '1000',
    SOLARIS_FAIL_MODE: handlerOnly ? 'open' : 'closed',
    LOG_LEVEL: 'warn',
  });
  const db = await openDatabase({ databaseUrl: DATABASE_URL, schema, max: 10 });
  // A BENCH_LEDGER variant: the ledger writer's options; `"syncCommit": false` (a diagnostic, not a product
  // option: it gives up durability against a Postgres crash) shows how much of the commit is the WAL flush.
  const { syncCommit, ...writerOpts } = JSON.parse(process.env.BENCH_LEDGER_OPTS || '{}') as { syncCommit?: boolean };
  if (syncCommit === false) (db.pool as unknown as { options: { options: string } }).options.options += ' -c synchronous_commit=off';
  const redis = handlerOnly
    ? new Redis({ host: '127.0.0.1', port: 1, lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null })
    : STORE === 'redis'
      ? new Redis(process.env.BENCH_PROXY_REDIS_URL ?? REDIS_URL, { keyPrefix: prefix, maxRetriesPerRequest: 2, enableAutoPipelining: process.env.BENCH_AUTOPIPE === '1' })
      : null;
  if (handlerOnly) redis?.on('error', () => undefined); // refused on purpose
  const rt = await createEngine({ config, db, redis, migrate: false });
  // Read at each write, so set before the first one.
  const writer = (rt.engine.store as unknown as { ledger?: { opts: object } }).ledger; // the Redis store's
  if (writer) Object.assign(writer.opts, writerOpts);
  const metrics = createMetrics({ defaultMetrics: false });
  const proxy = createMeteringProxy({ engine: rt.engine, config, metrics, upstreamUrl: upstream, touchUsers: !handlerOnly && process.env.BENCH_TOUCH !== '0' });
  const tracer = createTracer(TRACE);
  const tail = createTailTracker(TAIL && !handlerOnly);
  traceSettle(tail, rt.engine as unknown as Parameters<typeof traceSettle>[1], redis);
  if (TRACE) {
    // The reserve call brackets the round trip and names the upstream call's x-request-id.
    const reserve = rt.engine.reserve.bind(rt.engine);
    rt.engine.reserve = async (r) => {
      const t = tracer.link(r.userId, r.requestId);
      if (t) t.reserve = performance.now();
      try {
        return await reserve(r);
      } finally {
        if (t) t.reserved = performance.now();
      }
    };
  }
  const server = createServer((req, res) => {
    tracer.onRequest(req, res);
    tail.onResponse(res);
    proxy(req, res);
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  serveIpc({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }, async () => {
    await proxy.drain();
    await (rt.engine.store as { flushOutbox?: () => Promise<number> }).flushOutbox?.(); // outbox ack: rows not drained yet
    const { rows } = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM ledger');
    const avg = async (h: typeof metrics.reservationSeconds | typeof metrics.upstreamSeconds) => {
      const v = (await h.get()).values;
      const sum = v.filter((x) => x.metricName?.endsWith('_sum')).reduce((a, x) => a + x.value, 0);
      const count = v.filter((x) => x.metricName?.endsWith('_count')).reduce((a, x) => a + x.value, 0);
      return count ? (sum / count) * 1000 : NaN;
    };
    /** Upper bound of the histogram bucket holding quantile q (ms). */
    const q = async (h: typeof metrics.reservationSeconds | typeof metrics.upstreamSeconds, quant: number) => {
      const byLe = new Map<number, number>();
      for (const x of (await h.get()).values) {
        if (!x.metricName?.endsWith('_bucket')) continue;
        const raw = (x.labels as Record<string, string | number | undefined>).le;
        const le = raw === '+Inf' ? Infinity : Number(raw);
        byLe.set(le, (byLe.get(le) ?? 0) + x.value);
      }
      const les = [...byLe.keys()].sort((a, b) => a - b);
      const total = byLe.get(Infinity) ?? 0;
      const hit = les.find((le) => (byLe.get(le) ?? 0) >= quant * total);
      return hit === undefined ? NaN : hit * 1000;
    };
    return {
      reserveP50: await q(metrics.reservationSeconds, 0.5),
      upstreamP50: await q(metrics.upstreamSeconds, 0.5),
      ledgerRows: rows[0]!.n,
      settleErrors: (await metrics.settleErrors.get()).values[0]?.value ?? 0,
      reserveAvgMs: await avg(metrics.reservationSeconds),
      upstreamHeadersAvgMs: await avg(metrics.upstreamSeconds),
    };
  }, tracer, tail);
}

/** Child side of the IPC: announce readiness, answer CPU and drain questions. */
function serveIpc(ready: Record<string, unknown>, drain?: () => Promise<Record<string, unknown>>, tracer?: Tracer, tail?: TailTracker): void {
  process.once('SIGINT', () => process.exit(0)); // a clean exit writes --cpu-prof profiles
  const lag = monitorEventLoopDelay({ resolution: 1 });
  lag.enable();
  process.on('message', (m: Msg) => {
    if (m.type === 'prof-start' || m.type === 'prof-stop') {
      void windowProfile(m.type === 'prof-start', String(m.name)).then(() => process.send!({ type: m.type }));
    } else if (m.type === 'cpu') {
      const u = process.cpuUsage();
      process.send!({ type: 'cpu', ms: (u.user + u.system) / 1000, lagP50: lag.percentile(50) / 1e6, lagP99: lag.percentile(99) / 1e6 });
      lag.reset();
    } else if (m.type === 'trace-reset') {
      tracer?.reset();
      process.send!({ type: 'trace-reset' });
    } else if (m.type === 'tail-reset') {
      tail?.reset();
      process.send!({ type: 'tail-reset' });
    } else if (m.type === 'tail') {
      process.send!({ type: 'tail', segments: tail?.summary() ?? [] });
    } else if (m.type === 'trace') {
      process.send!({ type: 'trace', segments: tracer?.summary() ?? [] });
    } else if (m.type === 'drain') {
      void (drain ?? (async () => ({})))().then((r) => process.send!({ type: 'drained', ...r }));
    }
  });
  process.send!({ type: 'ready', ...ready });
}

// ---------------------------------------------------------------- parent

/**
 * Forks a server child: `role` as this script knows it; `name` (default role) is what BENCH_PROF matches;
 * `script` another build of this bench (BENCH_BEFORE: the same roles from an older build).
 */
function spawn(role: string, args: string[] = [], o: { name?: string; env?: Record<string, string>; script?: string } = {}): Promise<{ child: ChildProcess; url: string }> {
  const prof = (process.env.BENCH_PROF ?? '').split(',').includes(o.name ?? role) ? ['--cpu-prof', `--cpu-prof-dir=bench-profiles`, `--cpu-prof-name=${o.name ?? role}-${Date.now()}.cpuprofile`] : [];
  const env: NodeJS.ProcessEnv = { ...process.env, ...o.env };
  for (const [k, v] of Object.entries(o.env ?? {})) if (v === '') delete env[k]; // '' unsets
  const child = fork(o.script ?? process.argv[1]!, [`--role=${role}`, ...args], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: prof, env });
  return new Promise((resolve, reject) => {
    child.once('message', (m: Msg) => (m.type === 'ready' ? resolve({ child, url: String(m.url) }) : reject(new Error(`bad hello from ${role}`))));
    child.once('exit', (code) => reject(new Error(`${role} exited with ${code}`)));
  });
}

function ask(child: ChildProcess, type: string, reply: string, extra: Record<string, unknown> = {}): Promise<Msg> {
  return new Promise((resolve) => {
    const on = (m: Msg) => {
      if (m.type === reply) {
        child.off('message', on);
        resolve(m);
      }
    };
    child.on('message', on);
    child.send({ type, ...extra });
  });
}

interface Result {
  completed: number;
  errors: number;
  rps: number;
  ttfb: number[];
  last: number[];
}

/** `concurrency` clients, each streaming one chat completion after the other over keep-alive connections. */
async function load(url: string, concurrency: number, ms: number, record: boolean): Promise<Result> {
  const pool = new Pool(url, { connections: concurrency, pipelining: 1, keepAliveTimeout: 30_000 });
  const ttfb: number[] = [];
  const last: number[] = [];
  let errors = 0;
  const started = performance.now();
  const until = started + ms;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, i) => {
      const headers = { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, 'x-solaris-user-id': `bench-user-${i}` };
      while (performance.now() < until) {
        const t0 = performance.now();
        try {
          const r = await pool.request({ method: 'POST', path: '/v1/chat/completions', headers, body: CHAT_BODY });
          let first = 0;
          for await (const _chunk of r.body) if (!first) first = performance.now();
          const end = performance.now();
          if (r.statusCode !== 200) errors++;
          else if (record) {
            ttfb.push(first - t0);
            last.push(end - t0);
          }
        } catch {
          errors++;
        }
      }
    }),
  );
  const elapsed = performance.now() - started;
  await pool.close();
  return { completed: ttfb.length, errors, rps: (ttfb.length / elapsed) * 1000, ttfb, last };
}

const f = (n: number, d = 1) => fixed(n, d);
const pad = (s: string, n: number) => s.padStart(n);

async function main(): Promise<void> {
  const runId = `bench_${Date.now().toString(36)}_${randomBytes(2).toString('hex')}`;
  const prefix = `${runId}:`;
  // The outbox ack needs a Redis with appendonly yes: a private one (the saturation rows' proxy with
  // BENCH_SETTLE_ACK=outbox, and the open loop's proxy-outbox row).
  const aof = SETTLE_ACK === 'outbox' || (OPEN && OPEN_OUTBOX) ? await startAofRedis() : null;
  const outboxEnv = aof ? { BENCH_SETTLE_ACK: 'outbox', BENCH_PROXY_REDIS_URL: aof.url } : undefined;
  const ledgerEnv = { BENCH_SETTLE_ACK: 'ledger', BENCH_PROXY_REDIS_URL: '' };
  console.log(`bench:proxy — store=${STORE}, settle ack=${SETTLE_ACK}${SETTLE_ACK === 'outbox' ? ' (own Redis, AOF everysec)' : ''}, ${SECONDS}s per target and concurrency in ${ROUNDS} alternating rounds (+${WARMUP_MS / 1000}s warm-up), Postgres schema ${runId}; load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);

  const admin = new pg.Client({ connectionString: DATABASE_URL });
  await admin.connect();
  const { migrate } = await import('../server-extension/src/core/migrate');
  await migrate({ client: admin, schema: runId });
  await admin.query(`UPDATE ${runId}.plans SET token_limit = 1000000000000 WHERE is_default`);

  const children: ChildProcess[] = [];
  try {
    const upstream = await spawn('upstream');
    children.push(upstream.child);
    const relay = await spawn('relay', [upstream.url]);
    children.push(relay.child);
    const proxy = await spawn('proxy', [upstream.url, runId, prefix], { env: SETTLE_ACK === 'outbox' ? outboxEnv : ledgerEnv });
    children.push(proxy.child);
    const handler = await spawn('handler', [upstream.url, runId, prefix]);
    children.push(handler.child);
    const targets = [
      { name: 'direct', url: upstream.url, child: upstream.child },
      { name: 'relay', url: relay.url, child: relay.child },
      { name: 'proxy', url: proxy.url, child: proxy.child },
      { name: 'no-meter', url: handler.url, child: handler.child },
    ];

    let proxyCompleted = 0;
    const summary: string[] = [];
    if (OPEN) {
      // Fixed offered load: the proxy in both ack modes (each in its own process), and BENCH_BEFORE's build.
      const open: OpenTarget[] = [
        { name: 'direct', url: upstream.url, child: upstream.child },
        { name: 'relay', url: relay.url, child: relay.child, tail: TAIL },
        { name: SETTLE_ACK === 'outbox' ? 'proxy-outbox' : 'proxy-ledger', url: proxy.url, child: proxy.child, tail: TAIL },
      ];
      const more: Array<[string, string, Record<string, string>, string | undefined]> = [];
      if (outboxEnv && SETTLE_ACK !== 'outbox') more.push(['proxy-outbox', 'proxy', outboxEnv, undefined]);
      for (const [name, opts] of LEDGER_VARIANTS) more.push([`ledger-${name}`, 'proxy', { ...ledgerEnv, BENCH_LEDGER_OPTS: opts }, undefined]);
      for (const [name, script] of BEFORE) {
        more.push([`${name}-ledger`, 'proxy', ledgerEnv, script]);
        if (outboxEnv) more.push([`${name}-outbox`, 'proxy', outboxEnv, script]);
      }
      for (const [name, role, env, script] of more) {
        const s = await spawn(role, [upstream.url, runId, prefix], { name, env, script });
        children.push(s.child);
        open.push({ name, url: s.url, child: s.child, tail: TAIL && (!script || BEFORE_TAIL) });
      }
      summary.push(
        ...(await runOpenPhase(open, {
          key: KEY,
          body: CHAT_BODY,
          ask,
          saturate: async (url, c, ms) => (await load(url, c, ms, true)).rps,
        })),
      );
    }
    for (const c of SATURATION ? CONCURRENCY : []) {
      const res: Record<string, Result & { cpuMs: number; lagP50: number; lagP99: number }> = {};
      // Targets take turns (ROUNDS short windows each) so a burst of background load on a shared box
      // hits all three alike instead of one whole measurement.
      for (const t of targets) await load(t.url, c, WARMUP_MS, false);
      if (TRACE) for (const t of targets.slice(1)) await ask(t.child, 'trace-reset', 'trace-reset');
      for (let round = 0; round < ROUNDS; round++) {
        for (const t of targets) {
          const cpu0 = Number((await ask(t.child, 'cpu', 'cpu')).ms);
          const r = await load(t.url, c, (SECONDS * 1000) / ROUNDS, true);
          const after = await ask(t.child, 'cpu', 'cpu');
          const cpuMs = Number(after.ms) - cpu0;
          const prev = res[t.name];
          res[t.name] = prev
            ? {
                completed: prev.completed + r.completed,
                errors: prev.errors + r.errors,
                rps: prev.rps + r.rps / ROUNDS,
                ttfb: prev.ttfb.concat(r.ttfb),
                last: prev.last.concat(r.last),
                cpuMs: prev.cpuMs + cpuMs,
                lagP50: Math.max(prev.lagP50, Number(after.lagP50)),
                lagP99: Math.max(prev.lagP99, Number(after.lagP99)),
              }
            : { ...r, rps: r.rps / ROUNDS, cpuMs, lagP50: Number(after.lagP50), lagP99: Number(after.lagP99) };
          if (t.name === 'proxy') proxyCompleted += r.completed;
          await new Promise((r2) => setTimeout(r2, 200));
        }
      }
      const d = res.direct!;
      console.log(`\n== ${c} concurrent streams`);
      console.log(
        `${'path'.padEnd(9)}${pad('req/s', 8)}${pad('errors', 8)}${pad('TTFB p50', 10)}${pad('p99', 8)}${pad('last p50', 10)}${pad('p99', 8)}` +
          `${pad('+TTFB p50', 11)}${pad('+p99', 8)}${pad('+last p50', 11)}${pad('+p99', 8)}${pad('thr/direct', 12)}${pad('server CPU ms/req', 19)}${pad('loop lag p50/99', 16)}`,
      );
      for (const name of ['direct', 'relay', 'proxy', 'no-meter']) {
        const r = res[name]!;
        const add = (a: number[], b: number[], q: number) => pct(a, q) - pct(b, q);
        const isDirect = name === 'direct';
        console.log(
          `${name.padEnd(9)}${pad(f(r.rps, 0), 8)}${pad(String(r.errors), 8)}${pad(f(pct(r.ttfb, 0.5)), 10)}${pad(f(pct(r.ttfb, 0.99)), 8)}` +
            `${pad(f(pct(r.last, 0.5)), 10)}${pad(f(pct(r.last, 0.99)), 8)}` +
            `${pad(isDirect ? '—' : f(add(r.ttfb, d.ttfb, 0.5)), 11)}${pad(isDirect ? '—' : f(add(r.ttfb, d.ttfb, 0.99)), 8)}` +
            `${pad(isDirect ? '—' : f(add(r.last, d.last, 0.5)), 11)}${pad(isDirect ? '—' : f(add(r.last, d.last, 0.99)), 8)}` +
            `${pad(f(r.rps / d.rps, 3), 12)}${pad(f(r.cpuMs / Math.max(1, r.completed + r.errors), 2), 19)}${pad(`${f(r.lagP50)}/${f(r.lagP99)}`, 16)}`,
        );
      }
      if (TRACE) {
        // Inside each server, per request (ms, p50 / p90 / p99): where the time to the first byte goes.
        console.log(`\nper-request stages inside the server (ms, p50 / p90 / p99), ${c} streams`);
        const traced = await Promise.all(targets.slice(1).map(async (t) => [t.name, (await ask(t.child, 'trace', 'trace')).segments] as const));
        console.log(`${'segment'.padEnd(52)}${traced.map(([n]) => pad(n, 20)).join('')}`);
        for (let i = 0; i < SEGMENTS.length; i++) {
          const cells = traced.map(([, segs]) => {
            const [, p50, p90, p99, n] = (segs as Array<[string, number, number, number, number]>)[i]!;
            return pad(n ? `${f(p50, 2)}/${f(p90, 2)}/${f(p99, 1)}` : '—', 20);
          });
          console.log(`${SEGMENTS[i]![0].padEnd(52)}${cells.join('')}`);
        }
      }
      const addedProxy = pct(res.proxy!.ttfb, 0.5) - pct(d.ttfb, 0.5);
      const addedRelay = pct(res.relay!.ttfb, 0.5) - pct(d.ttfb, 0.5);
      const ratio = addedProxy / addedRelay;
      const thr = res.proxy!.rps / d.rps;
      const line =
        `${c} streams: proxy added TTFB p50 ${f(addedProxy, 2)} ms vs relay ${f(addedRelay, 2)} ms (× ${f(ratio, 2)}), ` +
        `throughput ${f(thr, 3)} × direct`;
      const addedHandler = pct(res['no-meter']!.ttfb, 0.5) - pct(d.ttfb, 0.5);
      summary.push(
        `${c} streams: of the proxy's added TTFB p50, the handler without metering adds ${f(addedHandler, 2)} ms; ` +
          `the quota round trips (reserve on ${STORE}) the remaining ${f(addedProxy - addedHandler, 2)} ms`,
      );
      summary.push(
        c === 50 ? `${line} — target ×≤1.3 and ≥0.95: ${ratio <= 1.3 || addedProxy <= addedRelay + 0.3 ? 'TTFB ok' : 'TTFB MISSED'}, ${thr >= 0.95 ? 'throughput ok' : 'throughput MISSED'}` : line,
      );
    }
    const drained = await ask(proxy.child, 'drain', 'drained');
    console.log(`\nledger rows written by the proxy: ${String(drained.ledgerRows)} (≥ ${proxyCompleted} measured streams + warm-ups), settle errors: ${String(drained.settleErrors)}`);
    console.log(
      `proxy internals (whole run): reserve mean ${f(Number(drained.reserveAvgMs), 2)} ms, p50 ≤ ${f(Number(drained.reserveP50), 2)} ms; ` +
        `upstream headers mean ${f(Number(drained.upstreamHeadersAvgMs), 2)} ms, p50 ≤ ${f(Number(drained.upstreamP50), 2)} ms`,
    );
    console.log('\nsummary');
    for (const l of summary) console.log(`  ${l}`);
  } finally {
    for (const c of children) c.kill('SIGINT');
    await admin.query(`DROP SCHEMA IF EXISTS ${runId} CASCADE`);
    await admin.end();
    if (STORE === 'redis') {
      await deleteRedisPrefix(REDIS_URL, prefix);
    }
    await aof?.stop();
  }
}

const role = process.argv.find((a) => a.startsWith('--role='))?.slice(7);
const rest = process.argv.slice(process.argv.findIndex((a) => a.startsWith('--role=')) + 1);
const run = role === 'upstream' ? roleUpstream() : role === 'relay' ? roleRelay(rest[0]!) : role === 'proxy' ? roleProxy(rest[0]!, rest[1]!, rest[2]!) : role === 'handler' ? roleProxy(rest[0]!, rest[1]!, rest[2]!, true) : main();
run.then(
  () => {
    if (!role) process.exit(0); // children are killed; do not wait for idle sockets
  },
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
