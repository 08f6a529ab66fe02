/**
 * npm run bench:load — simulated users chatting through the metering proxy, in one run:
 *   USERS users (default 1,000) for DURATION seconds (default 60): each sends a streaming chat completion
 *   (random prompt length), reads the whole answer, "thinks" 2–8 s, and again. The fake upstream (own process)
 *   streams CHUNKS tokens 15 ms apart with exact usage. 10 % of the users (the control group) talk to the
 *   upstream directly under the same load, which gives the proxy's *added* latency (TTFB and full answer).
 * Decisions correct: after the run, every answer the proxy delivered has exactly one ledger row whose tokens equal
 * the usage the upstream reported to the client, there are no other rows, and each user's Redis counter equals
 * their ledger sum. Flags/env: --users/BENCH_USERS, --duration/BENCH_DURATION (s), --chunks/BENCH_CHUNKS (40).
 * Throwaway Postgres schema and Redis key prefix, removed at the end.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { Pool } from 'undici';
import pg from 'pg';
import { Redis } from 'ioredis';
import { arg, deleteRedisPrefix, fixed, pct } from './_shared';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const USERS = arg('users', 'BENCH_USERS', 1000);
const DURATION = arg('duration', 'BENCH_DURATION', 60);
const CHUNKS = arg('chunks', 'BENCH_CHUNKS', 40);
const KEY = 'bench-load-key';
type Msg = { type: string; [k: string]: unknown };

async function roleUpstream(): Promise<void> {
  const { startFakeUpstream } = await import('../server-extension/src/dev/fake-upstream');
  const fake = await startFakeUpstream({ chunkDelayMs: 15, chunks: CHUNKS, record: false });
  process.once('SIGINT', () => process.exit(0));
  process.send!({ type: 'ready', url: fake.url });
}

async function roleProxy(upstream: string, schema: string, prefix: string): Promise<void> {
  const { loadConfig } = await import('../server-extension/src/core/config');
  const { openDatabase } = await import('../server-extension/src/core/db');
  const { createEngine } = await import('../server-extension/src/core/create-engine');
  const { createMeteringProxy } = await import('../server-extension/src/adapters/proxy');
  const config = loadConfig({ DATABASE_URL, REDIS_URL, SOLARIS_PROXY_KEY: KEY, LOG_LEVEL: 'error' });
  const db = await openDatabase({ databaseUrl: DATABASE_URL, schema, max: 10 });
  const redis = new Redis(REDIS_URL, { keyPrefix: prefix, maxRetriesPerRequest: 2 });
  const rt = await createEngine({ config, db, redis, migrate: false });
  const proxy = createMeteringProxy({ engine: rt.engine, config, upstreamUrl: upstream });
  const server = createServer((req, res) => proxy(req, res));
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  process.on('message', (m: Msg) => {
    if (m.type === 'drain') void proxy.drain().then(() => process.send!({ type: 'drained', cpuMs: process.cpuUsage().user / 1000 + process.cpuUsage().system / 1000 }));
  });
  process.once('SIGINT', () => process.exit(0));
  process.send!({ type: 'ready', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
}

function spawn(args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = fork(process.argv[1]!, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', (m: Msg) => (m.type === 'ready' ? resolve({ child, url: String(m.url) }) : reject(new Error('bad hello'))));
    child.once('exit', (code) => reject(new Error(`${args[0]} exited with ${code}`)));
  });
}
const f = (n: number, d = 1) => fixed(n, d);
const WORDS = 'como calcular a cota mensal de tokens para a equipe de vendas com base no uso real'.split(' ');

async function main(): Promise<void> {
  const run = randomBytes(3).toString('hex');
  const schema = `bench_load_${run}`;
  const prefix = `bench:load:${run}:`;
  const admin = new pg.Client({ connectionString: DATABASE_URL });
  await admin.connect();
  const { migrate } = await import('../server-extension/src/core/migrate');
  await migrate({ client: admin, schema });
  await admin.query(`UPDATE ${schema}.plans SET token_limit = 1000000000000 WHERE is_default`);
  const children: ChildProcess[] = [];
  console.log(`bench:load — ${USERS} users for ${DURATION} s (think 2–8 s, ${CHUNKS} tokens streamed 15 ms apart), 10 % control group direct to the upstream, Node ${process.version}`);
  try {
    const upstream = await spawn(['--role=upstream']);
    children.push(upstream.child);
    const proxy = await spawn(['--role=proxy', upstream.url, schema, prefix]);
    children.push(proxy.child);
    const viaProxy = new Pool(proxy.url, { connections: USERS, keepAliveTimeout: 30_000 });
    const direct = new Pool(upstream.url, { connections: Math.ceil(USERS / 10), keepAliveTimeout: 30_000 });
    // `at`: when each answer's request started (ms into the run), to split the cold start from the steady state.
    const stats = {
      proxy: { ttfb: [] as number[], total: [] as number[], at: [] as number[], errors: 0, refused: 0 },
      direct: { ttfb: [] as number[], total: [] as number[], at: [] as number[], errors: 0, refused: 0 },
    };
    const usageByRequest = new Map<string, { userId: string; prompt: number; completion: number }>();
    const started = performance.now();
    const until = started + DURATION * 1000;
    await Promise.all(
      Array.from({ length: USERS }, async (_, i) => {
        const isControl = i % 10 === 0;
        const pool = isControl ? direct : viaProxy;
        const st = isControl ? stats.direct : stats.proxy;
        const userId = `load-user-${i}`;
        await new Promise((r) => setTimeout(r, Math.random() * 3000)); // users arrive over 3 s
        while (performance.now() < until) {
          const words = Array.from({ length: 10 + Math.floor(Math.random() * 150) }, (_, k) => WORDS[(k + i) % WORDS.length]).join(' ');
          const body = JSON.stringify({ model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true }, max_tokens: 256, messages: [{ role: 'user', content: words }] });
          const t0 = performance.now();
          try {
            const r = await pool.request({ method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, 'x-solaris-user-id': userId }, body });
            let first = 0;
            let text = '';
            for await (const chunk of r.body) {
              if (!first) first = performance.now();
              text += (chunk as Buffer).toString();
            }
            if (r.statusCode === 402) st.refused++;
            else if (r.statusCode !== 200) st.errors++;
            else {
              st.ttfb.push(first - t0);
              st.total.push(performance.now() - t0);
              st.at.push(t0 - started);
              const m = /"usage":\{"prompt_tokens":(\d+),"completion_tokens":(\d+)/.exec(text);
              const rid = r.headers['x-solaris-request-id'];
              if (!isControl && m && typeof rid === 'string') usageByRequest.set(rid, { userId, prompt: Number(m[1]), completion: Number(m[2]) });
              else if (!isControl) st.errors++;
            }
          } catch {
            st.errors++;
          }
          await new Promise((r) => setTimeout(r, 2000 + Math.random() * 6000));
        }
      }),
    );
    const elapsed = (performance.now() - started) / 1000;
    const drained = await new Promise<Msg>((resolve) => {
      proxy.child.once('message', resolve);
      proxy.child.send({ type: 'drain' });
    });
    await Promise.all([viaProxy.close(), direct.close()]);

    // ---------- decisions correct: ledger vs what the upstream reported ----------
    const { rows } = await admin.query<{ request_id: string; user_id: string; prompt_tokens: string; completion_tokens: string }>(
      `SELECT request_id, user_id, prompt_tokens, completion_tokens FROM ${schema}.ledger`,
    );
    let matched = 0;
    let mismatched = 0;
    for (const r of rows) {
      const u = usageByRequest.get(r.request_id);
      if (u && u.userId === r.user_id && u.prompt === Number(r.prompt_tokens) && u.completion === Number(r.completion_tokens)) matched++;
      else mismatched++;
    }
    const missing = usageByRequest.size - matched;
    const redis = new Redis(REDIS_URL, { keyPrefix: prefix });
    const { rows: sums } = await admin.query<{ user_id: string; w: string }>(`SELECT user_id, sum(weighted_tokens) AS w FROM ${schema}.ledger GROUP BY user_id`);
    let counterMismatch = 0;
    for (const s of sums) if (Number(await redis.hget(`sq:{${s.user_id}}:c`, 'used')) !== Number(s.w)) counterMismatch++;
    redis.disconnect();

    const p = stats.proxy;
    const d = stats.direct;
    console.log(`\n${'path'.padEnd(22)}${'answers'.padStart(9)}${'req/s'.padStart(8)}${'errors'.padStart(8)}${'402'.padStart(6)}${'TTFB p50'.padStart(10)}${'p99'.padStart(8)}${'full p50'.padStart(10)}${'p99'.padStart(8)}`);
    for (const [name, s] of [['proxy (90 % of users)', p], ['direct (control 10 %)', d]] as const) {
      console.log(
        `${name.padEnd(22)}${String(s.total.length).padStart(9)}${f(s.total.length / elapsed).padStart(8)}${String(s.errors).padStart(8)}${String(s.refused).padStart(6)}` +
          `${f(pct(s.ttfb, 0.5)).padStart(10)}${f(pct(s.ttfb, 0.99)).padStart(8)}${f(pct(s.total, 0.5)).padStart(10)}${f(pct(s.total, 0.99)).padStart(8)}`,
      );
    }
    console.log(
      `added by the proxy: TTFB p50 ${f(pct(p.ttfb, 0.5) - pct(d.ttfb, 0.5), 2)} ms, p99 ${f(pct(p.ttfb, 0.99) - pct(d.ttfb, 0.99), 2)} ms; ` +
        `full answer p50 ${f(pct(p.total, 0.5) - pct(d.total, 0.5), 2)} ms, p99 ${f(pct(p.total, 0.99) - pct(d.total, 0.99), 2)} ms; proxy CPU ${f(Number(drained.cpuMs) / Math.max(1, p.total.length), 2)} ms/answer`,
    );
    // Steady state: answers whose request started after the first 10 s (every user's counter built by then).
    const late = (s: typeof p, k: 'ttfb' | 'total') => s[k].filter((_, i) => s.at[i]! >= 10_000);
    console.log(
      `steady state (requests started after 10 s): added TTFB p50 ${f(pct(late(p, 'ttfb'), 0.5) - pct(late(d, 'ttfb'), 0.5), 2)} ms, ` +
        `p99 ${f(pct(late(p, 'ttfb'), 0.99) - pct(late(d, 'ttfb'), 0.99), 2)} ms (${late(p, 'ttfb').length} answers); ` +
        `first 10 s: proxy TTFB p99 ${f(pct(p.ttfb.filter((_, i) => p.at[i]! < 10_000), 0.99))} ms`,
    );
    console.log(
      `decisions: ${rows.length} ledger rows for ${usageByRequest.size} metered answers — matched upstream usage ${matched}, mismatched/extra ${mismatched}, missing ${missing}; ` +
        `Redis counters ≠ ledger sum: ${counterMismatch} of ${sums.length} users → ${mismatched === 0 && missing === 0 && counterMismatch === 0 ? 'correct' : 'WRONG'}`,
    );
    if (mismatched || missing || counterMismatch) process.exitCode = 1;
  } finally {
    for (const c of children) c.kill('SIGINT');
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
    await deleteRedisPrefix(REDIS_URL, prefix);
  }
}

const role = process.argv.find((a) => a.startsWith('--role='))?.slice(7);
const rest = process.argv.slice(process.argv.findIndex((a) => a.startsWith('--role=')) + 1);
const job = role === 'upstream' ? roleUpstream() : role === 'proxy' ? roleProxy(rest[0]!, rest[1]!, rest[2]!) : main();
job.then(
  () => {
    if (!role) process.exit(process.exitCode ?? 0);
  },
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
