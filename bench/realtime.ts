/**
 * npm run bench:realtime — settlement → the user's `balance` event on socket.io, in one run:
 *   CLIENTS socket.io clients (websocket, each its own user, authenticated like the widget) in a child process;
 *   one server process, then two server processes sharing Redis (@socket.io/redis-adapter, half the clients on
 *   each, settlements made in the first, so half the events cross Redis pub/sub).
 *   For each setup: SAMPLES engine.settle() calls GAP_MS apart (each for a different user) and, as the
 *   baseline, SAMPLES bare `io.to(room).emit('balance', …)` of the same payload size.
 * Times are absolute high-resolution clocks (performance.timeOrigin + now()), comparable across processes.
 * Both ack modes in one run (BENCH_SETTLE_ACK=ledger|outbox|both, default both), on one private AOF redis-server.
 * Target: settle → balance p99 ≤ 10 ms. Flags/env: --clients/BENCH_CLIENTS (2000), --samples/BENCH_SAMPLES
 * (1000), --gap/BENCH_GAP_MS (2). Throwaway Postgres schema and Redis key prefix, removed at the end.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import jwt from 'jsonwebtoken';
import pg from 'pg';
import { Redis } from 'ioredis';
import { arg, deleteRedisPrefix, fixed, pct } from './_shared';
import { startAofRedis } from '../server-extension/src/dev/redis-server';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
/**
 * The ack modes measured, in this order (issue 19: the target holds in both): BENCH_SETTLE_ACK, a list of
 * `ledger`, `outbox` and `ledger2` (the ledger ack with two ledger batches in flight, each write starting at
 * once: session 9's candidate, bench/README.md), default `ledger,outbox`. All on one private AOF Redis (outbox
 * needs appendonly yes), so the ack is all that differs.
 */
const MODES = {
  ledger: { ack: 'ledger', writer: '' },
  outbox: { ack: 'outbox', writer: '' },
  ledger2: { ack: 'ledger', writer: JSON.stringify({ batchesInFlight: 2, startAtOnce: true }) },
} as const;
type Mode = keyof typeof MODES;
const ACKS = (process.env.BENCH_SETTLE_ACK ?? 'ledger,outbox').split(',').filter((m): m is Mode => m in MODES);
/** A server child's ack mode (set by main() for its forks). */
const SETTLE_ACK = process.env.BENCH_SERVER_ACK === 'outbox' ? 'outbox' : 'ledger';
const redisUrl = () => process.env.BENCH_AOF_REDIS_URL ?? REDIS_URL; // set by main() for its forks
const CLIENTS = arg('clients', 'BENCH_CLIENTS', 2000);
const SAMPLES = arg('samples', 'BENCH_SAMPLES', 1000);
const GAP_MS = arg('gap', 'BENCH_GAP_MS', 2);
const SECRET = 'bench-realtime-secret';
const now = () => performance.timeOrigin + performance.now();
const userOf = (i: number) => `rt-user-${i}`;

type Msg = { type: string; [k: string]: unknown };

// ---------------------------------------------------------------- server role

async function roleServer(schema: string, prefix: string): Promise<void> {
  const { loadConfig } = await import('../server-extension/src/core/config');
  const { openDatabase } = await import('../server-extension/src/core/db');
  const { createEngine } = await import('../server-extension/src/core/create-engine');
  const { createSolarisServer } = await import('../server-extension/src/app');
  const { createLibreChatAuthenticator } = await import('../server-extension/src/adapters/auth');
  const config = loadConfig({ DATABASE_URL, REDIS_URL: redisUrl(), LOG_LEVEL: 'error', SOLARIS_SETTLE_ACK: SETTLE_ACK });
  const db = await openDatabase({ databaseUrl: DATABASE_URL, schema, max: 10 });
  const redis = new Redis(redisUrl(), { keyPrefix: prefix, maxRetriesPerRequest: 2 });
  const rt = await createEngine({ config, db, redis, migrate: false });
  // ledger2: the ledger writer's options set from the outside (read at each write).
  const writer = (rt.engine.store as unknown as { ledger?: { opts: object } }).ledger;
  if (writer && process.env.BENCH_LEDGER_OPTS) Object.assign(writer.opts, JSON.parse(process.env.BENCH_LEDGER_OPTS));
  const authenticator = createLibreChatAuthenticator({
    engine: rt.engine,
    config,
    secrets: () => ({ access: SECRET, refresh: SECRET + '-r' }),
    userDirectory: async () => ({ email: null, name: null, role: 'USER' }),
    touchIntervalMs: 3_600_000,
  });
  const solaris = createSolarisServer({ engine: rt.engine, config, authenticator, redis, realtime: { channelPrefix: `${prefix}io`, lookupEmail: async () => null } });
  const http = createServer((req, res) => solaris.handle(req, res));
  const realtime = solaris.attach(http);
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  let seq = 0;
  process.on('message', (m: Msg) => {
    if (m.type !== 'run') return;
    const users = m.users as number[];
    const sent: Record<string, number> = {};
    const doneAt: Record<string, number> = {};
    let pending = users.length;
    void (async () => {
      const sample = await rt.engine.balance(userOf(0)); // a real BalanceDTO: same payload size as the settle's event
      // A user's counter is warm by the time a settlement comes (the request reserved first): read each one
      // before timing, so a sample measures the settlement and its event, not a cold counter rebuild.
      if (m.kind === 'settle') for (const u of users) await rt.engine.balance(userOf(u));
      let i = 0;
      const tick = () => {
        if (i >= users.length) return;
        const u = userOf(users[i++]!);
        if (m.kind === 'bare') {
          sent[u] = now();
          realtime.io.to(`user:${u}`).emit('balance', { ...sample, userId: u });
          doneAt[u] = now();
          pending--;
        } else {
          sent[u] = now();
          seq += 1;
          rt.engine
            .settle({ requestId: `rt-${process.pid}-${seq}`, userId: u, model: 'gpt-4o-mini', promptTokens: 300, completionTokens: 200, source: 'proxy' })
            .then(
              () => (doneAt[u] = now()),
              (e: unknown) => console.error('settle failed', e),
            )
            .finally(() => pending--);
        }
        setTimeout(tick, Number(m.gapMs));
      };
      tick();
      while (pending > 0) await new Promise((r) => setTimeout(r, 20));
      process.send!({ type: 'ran', sent, doneAt });
    })();
  });
  process.once('SIGINT', () => process.exit(0));
  process.send!({ type: 'ready', url: `http://127.0.0.1:${(http.address() as AddressInfo).port}` });
}

// ---------------------------------------------------------------- clients role

async function roleClients(urls: string[], count: number): Promise<void> {
  const { io } = await import('socket.io-client');
  const got: Record<string, number> = {};
  let recording = false;
  const sockets = [];
  const t0 = Date.now();
  for (let i = 0; i < count; i += 100) {
    await Promise.all(
      Array.from({ length: Math.min(100, count - i) }, (_, k) => {
        const n = i + k;
        const token = jwt.sign({ id: userOf(n), username: 'u', provider: 'local' }, SECRET, { algorithm: 'HS256', expiresIn: 3600 });
        const s = io(urls[n % urls.length]!, { path: '/solaris/socket.io', transports: ['websocket'], extraHeaders: { authorization: `Bearer ${token}` }, reconnection: false, forceNew: true });
        s.on('balance', (b: { userId: string }) => {
          if (recording && got[b.userId] === undefined) got[b.userId] = now();
        });
        sockets.push(s);
        return new Promise<void>((resolve, reject) => {
          s.once('connect', () => resolve());
          s.once('connect_error', reject);
        });
      }),
    );
  }
  const connectMs = Date.now() - t0;
  process.on('message', (m: Msg) => {
    if (m.type === 'record') {
      for (const k of Object.keys(got)) delete got[k];
      recording = true;
      process.send!({ type: 'recording' });
    } else if (m.type === 'collect') {
      recording = false;
      process.send!({ type: 'collected', got: { ...got } });
    }
  });
  process.once('SIGINT', () => process.exit(0));
  process.send!({ type: 'ready', connectMs, rssMb: Math.round(process.memoryUsage().rss / 1e6) });
}

// ---------------------------------------------------------------- parent

function spawn(args: string[], env: Record<string, string> = {}): Promise<{ child: ChildProcess; hello: Msg }> {
  const child = fork(process.argv[1]!, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, ...env } });
  return new Promise((resolve, reject) => {
    child.once('message', (m: Msg) => (m.type === 'ready' ? resolve({ child, hello: m }) : reject(new Error('bad hello'))));
    child.once('exit', (code) => reject(new Error(`${args[0]} exited with ${code}`)));
  });
}
function ask(child: ChildProcess, msg: Msg, reply: string): Promise<Msg> {
  return new Promise((resolve) => {
    const on = (m: Msg) => {
      if (m.type === reply) {
        child.off('message', on);
        resolve(m);
      }
    };
    child.on('message', on);
    child.send(msg);
  });
}
const f = (n: number) => fixed(n, 2);

async function measure(server: ChildProcess, clients: ChildProcess, kind: 'settle' | 'bare', users: number[]) {
  await ask(clients, { type: 'record' }, 'recording');
  const ran = await ask(server, { type: 'run', kind, users, gapMs: GAP_MS }, 'ran');
  await new Promise((r) => setTimeout(r, 500));
  const got = (await ask(clients, { type: 'collect' }, 'collected')).got as Record<string, number>;
  const sent = ran.sent as Record<string, number>;
  const doneAt = ran.doneAt as Record<string, number>;
  const fromCall: number[] = [];
  const fromEmit: number[] = [];
  const settleMs: number[] = []; // settle() call → resolved: the durable settlement itself
  let missing = 0;
  for (const u of Object.keys(sent)) {
    if (got[u] === undefined) {
      missing++;
      continue;
    }
    fromCall.push(got[u]! - sent[u]!);
    if (doneAt[u] !== undefined) {
      fromEmit.push(Math.max(0, got[u]! - doneAt[u]!));
      settleMs.push(doneAt[u]! - sent[u]!);
    }
  }
  return { fromCall, fromEmit, settleMs, missing };
}

async function main(): Promise<void> {
  const run = randomBytes(3).toString('hex');
  const schema = `bench_rt_${run}`;
  const prefix = `bench:rt:${run}:`;
  const admin = new pg.Client({ connectionString: DATABASE_URL });
  await admin.connect();
  const { migrate } = await import('../server-extension/src/core/migrate');
  await migrate({ client: admin, schema });
  await admin.query(`UPDATE ${schema}.plans SET token_limit = 1000000000000 WHERE is_default`);
  const children: ChildProcess[] = [];
  const aof = await startAofRedis();
  process.env.BENCH_AOF_REDIS_URL = aof.url;
  console.log(
    `bench:realtime — ${CLIENTS} socket.io clients (websocket, child process), ${SAMPLES} events per measurement, ${GAP_MS} ms apart, ` +
      `settle ack ${ACKS.join(' then ')} (own Redis, AOF everysec), Node ${process.version}; load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`,
  );
  const lines: string[] = [];
  try {
    // Every (ack mode, server count) pair in turn: one line group each, in one table at the end.
    const setups: Array<readonly [Mode, number]> = ACKS.flatMap((ack) => [1, 2].map((servers) => [ack, servers] as const));
    for (const [ack, servers] of setups) {
      const procs = [];
      for (let i = 0; i < servers; i++) procs.push(await spawn(['--role=server', schema, prefix], { BENCH_SERVER_ACK: MODES[ack].ack, BENCH_LEDGER_OPTS: MODES[ack].writer }));
      children.push(...procs.map((p) => p.child));
      const urls = procs.map((p) => String(p.hello.url));
      const clients = await spawn(['--role=clients', String(CLIENTS), ...urls]);
      children.push(clients.child);
      if (servers === 1) console.log(`${ack}${ack === 'ledger2' ? '' : ' ack'}: connected ${CLIENTS} clients in ${String(clients.hello.connectMs)} ms (client process ${String(clients.hello.rssMb)} MB)`);
      // Users on each server: clients were spread n % servers; samples alternate so half land on the other process.
      const users = Array.from({ length: Math.min(SAMPLES, CLIENTS) }, (_, i) => i);
      await measure(procs[0]!.child, clients.child, 'bare', users.slice(0, 100)); // warm-up
      await measure(procs[0]!.child, clients.child, 'settle', users.slice(100, 200));
      const bare = await measure(procs[0]!.child, clients.child, 'bare', users);
      const settle = await measure(procs[0]!.child, clients.child, 'settle', users);
      const label = `${ack}${ack === 'ledger2' ? '' : ' ack'}, ${servers === 1 ? '1 server process' : '2 processes (Redis adapter)'}`;
      lines.push(
        `${label.padEnd(42)}${'bare room emit → client'.padEnd(36)}${f(pct(bare.fromCall, 0.5)).padStart(8)}${f(pct(bare.fromCall, 0.99)).padStart(8)}${String(bare.missing).padStart(9)}`,
        `${''.padEnd(42)}${'engine.settle() call → balance'.padEnd(36)}${f(pct(settle.fromCall, 0.5)).padStart(8)}${f(pct(settle.fromCall, 0.99)).padStart(8)}${String(settle.missing).padStart(9)}   target p99 ≤ 10 ms: ${pct(settle.fromCall, 0.99) <= 10 ? 'ok' : 'MISSED'}`,
        `${''.padEnd(42)}${'  of which settle() call → resolved'.padEnd(36)}${f(pct(settle.settleMs, 0.5)).padStart(8)}${f(pct(settle.settleMs, 0.99)).padStart(8)}`,
        `${''.padEnd(42)}${'settle resolved → balance'.padEnd(36)}${f(pct(settle.fromEmit, 0.5)).padStart(8)}${f(pct(settle.fromEmit, 0.99)).padStart(8)}${''.padStart(9)}   ratio p99 to bare: ${f(pct(settle.fromCall, 0.99) / pct(bare.fromCall, 0.99))}`,
      );
      for (const c of [clients.child, ...procs.map((p) => p.child)]) c.kill('SIGINT');
      await new Promise((r) => setTimeout(r, 500));
    }
    console.log(`\n${'setup'.padEnd(42)}${'path'.padEnd(36)}${'p50 ms'.padStart(8)}${'p99'.padStart(8)}${'missing'.padStart(9)}`);
    for (const l of lines) console.log(l);
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill('SIGINT');
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
    await deleteRedisPrefix(redisUrl(), prefix);
    await aof.stop();
  }
}

const role = process.argv.find((a) => a.startsWith('--role='))?.slice(7);
const rest = process.argv.slice(process.argv.findIndex((a) => a.startsWith('--role=')) + 1);
const job = role === 'server' ? roleServer(rest[0]!, rest[1]!) : role === 'clients' ? roleClients(rest.slice(1), Number(rest[0])) : main();
job.then(
  () => {
    if (!role) process.exit(0);
  },
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
