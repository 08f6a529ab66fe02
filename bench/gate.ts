/**
 * npm run bench:gate — what the LibreChat plugin costs per chat, inside a LibreChat-shaped server.
 *
 * The host is the test fixture (librechat-plugin/test/fixtures/librechat-host: real @librechat/data-schemas
 * models on mongoose 8 over a MongoDB-wire server) started as a child process, once WITHOUT the preload and
 * once WITH the operators' self-contained build (`scripts/build-plugin.mjs`, i.e. what `--require
 * /solaris/librechat-plugin/register.cjs` loads), alternating, `BENCH_ROUNDS` times each, fresh process per run.
 * A chat = LibreChat's `POST /api/agents/chat/:endpoint` (the gate reserves) + the turn's two Transaction
 * documents written with `insertMany` (the hook settles, the ledger row lands, the reservation is freed).
 *
 * Printed per variant (median of the rounds) and as "added" = with − without, against the targets:
 * CPU per chat in the server process (all its threads, /proc/<pid>/task/* /schedstat), Redis commands per chat
 * (INFO commandstats of a private redis-server), chat POST latency p50 sequential and with 20 concurrent
 * clients, start-up (spawn → listening, and → the plugin's "active" line), RSS when ready, idle CPU per second,
 * first chat after start, and (last) the RSS the first widget adds (REST /me + a socket: the HTTP side the plugin
 * loads on first use); CPU by thread, and the main thread's system calls per chat and per idle second (strace
 * on chats of their own: a count, which the box's load does not move, where CPU time moves by more than the
 * plugin costs). BENCH_CPU_PROF=1 (or =<dir>): the plugin's runs write a V8 CPU profile (BENCH_CPU_PROF_INTERVAL,
 * 250 µs), and the plugin's own CPU per sequential chat is read off it (bench/_cpuprofile.ts), with its largest
 * frames; BENCH_PLUGIN=readable builds the plugin unminified so those frames have names and sources.
 *
 * Env: DATABASE_URL / TEST_DATABASE_URL (Postgres; a fresh schema, dropped at the end), MONGO_URI (else an
 * embedded jongodb), BENCH_ROUNDS (2), BENCH_CHATS (sequential chats per run, 300), BENCH_CONC_CHATS (600),
 * BENCH_IDLE_SECONDS (5). Redis is always a private redis-server on a free port.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import mongoose, { Types } from 'mongoose';
import { io as ioClient } from 'socket.io-client';
import { SOCKET_PATH } from '@solaris/wire';
import { createTestDb, type TestDb } from '../server-extension/test/helpers/infra';
import { startRedisServer, type RedisServer } from '../server-extension/src/dev/redis-server';
import { accessToken, BROWSER_UA, hostCwd, HOST_ENTRY, ROOT, startMongo } from '../librechat-plugin/test/helpers';
import { arg, fixed, pct } from './_shared';
import { variantTable } from './_compare';
import { cpuPressure, perUnit, processCpuMs, redisCalls, rssMb, syscallsDuring, threadCpuMs, threadsPerUnit, totalCalls as total } from './_proc';
import { profileShare, type ProfileShare } from './_cpuprofile';
import { activeUsersPhase } from './_gate-users';

const ROUNDS = arg('rounds', 'BENCH_ROUNDS', 2);
const CHATS = arg('chats', 'BENCH_CHATS', 300);
const CONC_CHATS = arg('conc-chats', 'BENCH_CONC_CHATS', 600);
const CONCURRENCY = 20;
const IDLE_SECONDS = arg('idle', 'BENCH_IDLE_SECONDS', 5);
const USERS = 200;
const JWT_SECRET = 'bench-access-secret-' + Math.random().toString(36).slice(2);
/** BENCH_CPU_PROF=1 (a temp folder) or =<dir>: the plugin's runs write V8 CPU profiles, read per sequential chat. */
const CPU_PROF = process.env.BENCH_CPU_PROF === '1' ? mkdtempSync(join(tmpdir(), 'solaris-bench-prof-')) : process.env.BENCH_CPU_PROF;
/** Sampling interval of those profiles (µs): finer than V8's 1 ms default, for sub-ms costs per chat. */
const CPU_PROF_INTERVAL_US = arg('prof-interval', 'BENCH_CPU_PROF_INTERVAL', 250);

interface RunResult {
  listeningMs: number;
  activeMs: number;
  firstChatMs: number;
  rssMb: number;
  idleCpuMsPerS: number;
  idleRedisPerS: number;
  idleRedisMix: string;
  redisMix: string;
  cpuMsPerChat: number;
  redisPerChat: number;
  /** Commands clients sent (MONITOR, without those run inside scripts). */
  redisSentPerChat: number;
  seqP50: number;
  seqP99: number;
  concP50: number;
  concP99: number;
  /** CPU per sequential chat by thread ("main 3.1, V8 DefaultWorke 0.4"), and per idle second. */
  threadMix: string;
  idleThreadMix: string;
  /** The main thread's system calls per chat (strace, 40 chats of their own) and per idle second: NaN without strace. */
  syscallsPerChat: number;
  syscallMix: string;
  idleSyscallsPerS: number;
  idleSyscallMix: string;
  /** Main-thread CPU per sequential chat (ms): what the profile's shares are scaled to. */
  mainCpuMsPerChat: number;
  /** The plugin's runs with BENCH_CPU_PROF: the profile over the sequential chats. */
  profile?: ProfileShare;
  /** RSS growth when the first widget opens (REST /me + a socket): the HTTP side the plugin loads on first use. */
  widgetRssMb: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function waitFor(child: ChildProcess, pattern: RegExp, timeoutMs: number, output: () => string): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      const m = pattern.exec(output());
      if (m) {
        clearInterval(timer);
        resolve(m);
      } else if (child.exitCode !== null || Date.now() > deadline) {
        clearInterval(timer);
        reject(new Error(`host: no ${pattern} (exit ${child.exitCode}). Output:\n${output()}`));
      }
    }, 2);
    const deadline = Date.now() + timeoutMs;
  });
}

interface Env {
  mongoUri: string;
  db: TestDb;
  redis: RedisServer;
  register: string;
  cwd: string;
  users: string[];
  tokens: string[];
}

async function runHost(env: Env, register: string | null, variant: number, round: number): Promise<RunResult> {
  const withPlugin = register !== null;
  const profiled = withPlugin && CPU_PROF !== undefined;
  const args = [
    ...(register ? ['--require', register] : []),
    ...(profiled ? ['--cpu-prof', '--cpu-prof-dir', CPU_PROF, '--cpu-prof-interval', String(CPU_PROF_INTERVAL_US)] : []),
    HOST_ENTRY,
  ];
  let window: [number, number] | null = null;
  let result: RunResult | null = null;
  const childEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && k !== 'NODE_OPTIONS') childEnv[k] = v;
  Object.assign(childEnv, { MONGO_URI: env.mongoUri, DATABASE_URL: env.db.childEnvUrl, REDIS_URL: env.redis.url, PORT: '0', LOG_LEVEL: 'warn' });
  const stats = env.redis.client();
  const t0 = performance.now();
  const child = spawn(process.execPath, args, { cwd: env.cwd, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const pid = child.pid!;
  try {
    const m = await waitFor(child, /HOST_LISTENING (\d+)/, 30_000, () => out);
    const listeningMs = performance.now() - t0;
    const url = `http://127.0.0.1:${m[1]}`;
    let seq = round * 1_000_000 + variant * 300_000;
    const chat = async (u: number): Promise<number> => {
      const conversationId = `b-${seq++}`;
      const started = performance.now();
      const r = await fetch(`${url}/api/agents/chat/FakeAI`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${env.tokens[u]}`, 'User-Agent': BROWSER_UA },
        body: JSON.stringify({ text: 'Olá! Pode resumir o relatório de vendas do trimestre em três frases?', conversationId, endpoint: 'FakeAI', model: 'gpt-4o' }),
      });
      await r.arrayBuffer();
      const ms = performance.now() - started;
      if (r.status !== 200) throw new Error(`chat answered ${r.status}`);
      const doc = (tokenType: string, rawAmount: number) => ({
        user: env.users[u], conversationId, messageId: `m-${conversationId}`, tokenType, model: 'gpt-4o', context: 'message', rate: 1, rawAmount, tokenValue: rawAmount,
      });
      const tx = await fetch(`${url}/__test/tx/insertMany`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ docs: [doc('prompt', -40), doc('completion', -12)] }),
      });
      await tx.arrayBuffer();
      return ms;
    };
    const firstChatMs = await chat(0);
    let activeMs = NaN;
    if (withPlugin) {
      await waitFor(child, /Solaris token control active/, 30_000, () => out).catch(() => undefined);
      activeMs = performance.now() - t0;
    }
    await sleep(1_000); // the first turn's settlement, lazy timers
    const rss = rssMb(pid);

    // Idle: nothing asked of the server.
    const idleCpu0 = processCpuMs(pid);
    const idleThreads0 = threadCpuMs(pid);
    const idleRedis0 = await redisCalls(stats);
    const idleT0 = performance.now();
    await sleep(IDLE_SECONDS * 1000);
    const idleS = (performance.now() - idleT0) / 1000;
    const idleCpuMsPerS = (processCpuMs(pid) - idleCpu0) / idleS;
    const idleThreadMix = threadsPerUnit(idleThreads0, threadCpuMs(pid), idleS);
    // Then what the idle main thread wakes up for (epoll_wait returns, timer reads, ...), 2 s under strace.
    const idleSys = await syscallsDuring(pid, () => sleep(2_000));
    const idleRedis1 = await redisCalls(stats);
    const idleRedisPerS = (total(idleRedis1) - total(idleRedis0)) / idleS;
    const idleRedisMix = perUnit(idleRedis0, idleRedis1, idleS);

    // Warm-up: JIT, pools, caches, and every user's counter. Counters live in Redis for the whole period, so in
    // production a user's chat finds one (whatever process serves it); a counter rebuild from Postgres is a
    // user's first chat of the period, not the chat path (it made the rounds disagree: a fresh Redis rebuilds
    // ~170 of the 300 measured chats, a used one none).
    for (let i = 0; i < USERS + 30; i++) await chat(i % USERS);
    await sleep(500);
    if (process.env.BENCH_MONITOR === '1' && withPlugin) await monitor(env.redis, () => chat(USERS - 1));

    // Commands the server sends (MONITOR shows those run inside scripts as coming from "lua"), on their own
    // chats: MONITOR slows Redis down, so it stays out of the measured phases.
    const mon = await monitorSent(env.redis.port);
    // Users with a counter already (the warm-up's): a user's first chat also rebuilds it from Postgres.
    for (let i = 0; i < 40; i++) await chat(1 + (i % 30));
    await sleep(600);
    const redisSentPerChat = mon.stop() / 40;
    const chatSys = await syscallsDuring(pid, async () => {
      for (let i = 0; i < 40; i++) await chat(1 + (i % 30));
      await sleep(600); // the settlements
    });

    // Sequential chats: CPU and Redis commands per chat (the settlements included), latency of the POST.
    const cpu0 = processCpuMs(pid);
    const threads0 = threadCpuMs(pid);
    const fromUs = Number(process.hrtime.bigint() / 1000n);
    const redis0 = await redisCalls(stats);
    const seqMs: number[] = [];
    for (let i = 0; i < CHATS; i++) seqMs.push(await chat(i % USERS));
    await sleep(600); // coalesced settlements (SOLARIS_LIBRECHAT_COALESCE_MS, default 250) finish
    const cpuMsPerChat = (processCpuMs(pid) - cpu0) / CHATS;
    const threads1 = threadCpuMs(pid);
    window = [fromUs, Number(process.hrtime.bigint() / 1000n)];
    const threadMix = threadsPerUnit(threads0, threads1, CHATS);
    const mainCpuMsPerChat = ((threads1.get('main') ?? 0) - (threads0.get('main') ?? 0)) / CHATS;
    const redis1 = await redisCalls(stats);
    const redisPerChat = (total(redis1) - total(redis0)) / CHATS;
    const redisMix = perUnit(redis0, redis1, CHATS);

    // 20 concurrent clients, closed loop.
    const concMs: number[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        for (let i = next++; i < CONC_CHATS; i = next++) concMs.push(await chat(i % USERS));
      }),
    );
    const rssBeforeWidget = rssMb(pid);
    await openWidget(url, env.tokens[0]!);
    await sleep(1_000);
    const widgetRssMb = rssMb(pid) - rssBeforeWidget;
    result = {
      listeningMs, activeMs, firstChatMs, rssMb: rss, idleCpuMsPerS, idleRedisPerS, idleRedisMix, cpuMsPerChat, redisPerChat, redisSentPerChat, redisMix,
      seqP50: pct(seqMs, 0.5), seqP99: pct(seqMs, 0.99), concP50: pct(concMs, 0.5), concP99: pct(concMs, 0.99), widgetRssMb,
      threadMix, idleThreadMix, mainCpuMsPerChat,
      syscallsPerChat: chatSys ? total(chatSys) / 40 : NaN, syscallMix: chatSys ? perUnit(new Map(), chatSys, 40) : '',
      idleSyscallsPerS: idleSys ? total(idleSys) / 2 : NaN, idleSyscallMix: idleSys ? perUnit(new Map(), idleSys, 2) : '',
    };
    return result;
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    // SIGINT: Node writes the --cpu-prof file on a normal exit only; the preload re-raises SIGINT after closing.
    child.kill(profiled ? 'SIGINT' : 'SIGKILL');
    await Promise.race([exited, sleep(profiled ? 15_000 : 5_000)]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    stats.disconnect();
    // The profile is written when the host exits: read into the result returned above.
    if (result && profiled && window) result.profile = readProfile(pid, register!, window);
  }
}

/**
 * The plugin's share of the sequential chats in the run's V8 profile (Node names it CPU.<date>.<time>.<pid>.…):
 * samples whose nearest file frame is in the plugin's bundles (<build>/dist/plugin/).
 */
function readProfile(pid: number, register: string, window: [number, number]): ProfileShare | undefined {
  const file = readdirSync(CPU_PROF!).find((f) => f.endsWith('.cpuprofile') && f.includes(`.${pid}.`));
  if (!file) return undefined;
  return profileShare(join(CPU_PROF!, file), join(dirname(dirname(register)), 'dist', 'plugin') + '/', window[0], window[1]);
}

/**
 * Counts the commands clients send (MONITOR lines not from "lua"), on a plain socket: ioredis's monitor mode
 * failed a run with "Command queue state error" when lines arrived right after its MONITOR on a busy box.
 */
async function monitorSent(port: number): Promise<{ stop(): number }> {
  const socket = createConnection({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let sent = 0;
  let buf = '';
  socket.on('data', (d: Buffer) => {
    buf += d.toString('latin1');
    const lines = buf.split('\r\n');
    buf = lines.pop()!;
    for (const line of lines) if (/^\+\d+\.\d+ \[\d+ (?!lua\])/.test(line)) sent++;
  });
  socket.write('MONITOR\r\n');
  await sleep(100);
  return {
    stop() {
      socket.destroy();
      return sent;
    },
  };
}

/** What a browser opening LibreChat asks of us: the REST API's /me and a socket (without the plugin: LibreChat's page). */
async function openWidget(url: string, token: string): Promise<void> {
  await (await fetch(`${url}/solaris/api/me`, { headers: { Authorization: `Bearer ${token}`, 'User-Agent': BROWSER_UA } })).arrayBuffer();
  const socket = ioClient(url, { path: SOCKET_PATH, extraHeaders: { authorization: `Bearer ${token}` }, reconnection: false, forceNew: true, timeout: 5_000 });
  await new Promise<void>((resolve) => {
    socket.once('balance', () => resolve());
    socket.once('connect_error', () => resolve());
  });
  socket.disconnect();
}

/** BENCH_MONITOR=1: every Redis command one chat causes (after warm-up), in order — a diagnostic. */
async function monitor(redis: RedisServer, work: () => Promise<unknown>): Promise<void> {
  const mon = await redis.client().monitor();
  const seen: string[] = [];
  mon.on('monitor', (_time: string, args: string[]) => seen.push(args.map((a) => (a.length > 60 ? a.slice(0, 57) + '...' : a)).join(' ')));
  await work();
  await sleep(800);
  mon.disconnect();
  console.error(`  one chat, ${seen.length} Redis commands:\n    ${seen.join('\n    ')}`);
}

const median = (xs: number[]): number => pct(xs, 0.5);

async function main(): Promise<void> {
  const build = mkdtempSync(join(tmpdir(), 'solaris-bench-plugin-'));
  // BENCH_PLUGIN=readable: the operators' build without minifying (function names in the profile's largest frames).
  const minify = process.env.BENCH_PLUGIN === 'readable' ? ['--no-minify'] : [];
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build-plugin.mjs'), '--out', build, '--quiet', ...minify], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('plugin build failed');
  const [mongo, db, redis] = await Promise.all([startMongo(), createTestDb({ max: 2 }), startRedisServer()]);
  const conn = await mongoose.createConnection(mongo.uri).asPromise();
  const users = Array.from({ length: USERS }, () => new Types.ObjectId().toHexString());
  await conn.collection('users').insertMany(users.map((id, i) => ({ _id: new Types.ObjectId(id), email: `u${i}@bench.test`, name: `u${i}`, role: 'USER' })));
  await conn.close();
  const env: Env = {
    mongoUri: mongo.uri, db, redis, users,
    // BENCH_PLUGIN=dev: the repo's dev build (dist/plugin, readable names in a CPU profile) instead of the operators' bundle.
    register: process.env.BENCH_PLUGIN === 'dev' ? join(ROOT, 'librechat-plugin', 'register.cjs') : join(build, 'librechat-plugin', 'register.cjs'),
    cwd: hostCwd({ JWT_SECRET, JWT_REFRESH_SECRET: JWT_SECRET + '-refresh' }),
    tokens: users.map((id, i) => accessToken(JWT_SECRET, { id, email: `u${i}@bench.test` }, 3_600)),
  };
  const bundleMb = Number(readFileSync(join(build, 'dist', 'plugin', 'preload.cjs')).length) / 1e6;
  console.log(`bench:gate — ${ROUNDS} alternating rounds, ${CHATS} sequential + ${CONC_CHATS} chats at ${CONCURRENCY} concurrent per run, preload bundle ${bundleMb.toFixed(2)} MB, CPU pressure ${cpuPressure()}`);
  // BENCH_BEFORE_REGISTER=<another build's register.cjs>: a third variant, e.g. the plugin before a change.
  const variants: { name: string; register: string | null }[] = [
    { name: 'without', register: null },
    { name: 'with', register: env.register },
    ...(process.env.BENCH_BEFORE_REGISTER ? [{ name: 'before', register: process.env.BENCH_BEFORE_REGISTER }] : []),
  ];
  const results = new Map<string, RunResult[]>(variants.map((v) => [v.name, []]));
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? variants : [...variants].reverse();
      for (const v of order) {
        const res = await runHost(env, v.register, variants.indexOf(v), round);
        results.get(v.name)!.push(res);
        const brief = (k: string, val: unknown) => (k === 'profile' ? undefined : typeof val === 'number' ? Number(val.toFixed(3)) : val);
        console.error(`  round ${round + 1} ${v.name.padEnd(7)}: ${JSON.stringify(res, brief)}`);
      }
    }
    // BENCH_ACTIVE_USERS (10,000; 0 = skip): RSS with that many distinct users, bench/_gate-users.ts.
    await activeUsersPhase({ mongoUri: env.mongoUri, databaseUrl: db.childEnvUrl, redisUrl: redis.url, cwd: env.cwd, jwtSecret: JWT_SECRET }, variants);
  } finally {
    await db.drop().catch(() => undefined);
    await redis.stop();
    mongo.stop();
    rmSync(build, { recursive: true, force: true });
    rmSync(env.cwd, { recursive: true, force: true });
  }
  type Num = Exclude<keyof RunResult, 'redisMix' | 'idleRedisMix' | 'threadMix' | 'idleThreadMix' | 'syscallMix' | 'idleSyscallMix' | 'profile'>;
  const names = variants.map((v) => v.name);
  const med = (name: string, k: Num) => median(results.get(name)!.map((x) => x[k]));
  const row = variantTable(names, 'median of rounds (2 rounds: the lower)', 36);
  const line = (label: string, k: Num, target: string, digits: number, ok: (added: number) => boolean, baseline: Num = k) =>
    row(label, (n) => med(n, k), target, digits, ok, (n) => med(n, baseline));
  line('CPU per chat, server process (ms)', 'cpuMsPerChat', '≤ 0.5', 3, (a) => a <= 0.5);
  line('Redis commands sent per chat', 'redisSentPerChat', '≤ 4', 2, (a) => a <= 4);
  line('Redis commands run per chat (+Lua)', 'redisPerChat', '', 2, () => true);
  line('chat POST p50, sequential (ms)', 'seqP50', '≤ 0.5', 2, (a) => a <= 0.5);
  line('chat POST p99, sequential (ms)', 'seqP99', '', 2, () => true);
  line(`chat POST p50, ${CONCURRENCY} concurrent (ms)`, 'concP50', '≤ 3', 2, (a) => a <= 3);
  line(`chat POST p99, ${CONCURRENCY} concurrent (ms)`, 'concP99', '', 2, () => true);
  line('RSS when ready (MB)', 'rssMb', '≤ 40', 1, (a) => a <= 40);
  line('start-up: spawn → listening (ms)', 'listeningMs', '≤ 300', 0, (a) => a <= 300);
  line('start-up: spawn → plugin active (ms)', 'activeMs', '', 0, () => true, 'listeningMs');
  line('idle CPU (ms per s)', 'idleCpuMsPerS', '~0', 2, (a) => a <= 0.5);
  line('idle Redis commands per s', 'idleRedisPerS', '~0', 2, (a) => a <= 0.1);
  line('first chat after start (ms)', 'firstChatMs', '≤ 5', 1, (a) => a <= 5);
  line('  of which main thread (ms)', 'mainCpuMsPerChat', '', 3, () => true);
  line('system calls per chat (main thread)', 'syscallsPerChat', '', 1, () => true);
  line('system calls per idle s (main thread)', 'idleSyscallsPerS', '', 1, () => true);
  for (const n of names) console.log(`system calls per chat, "${n}" (last run): ${results.get(n)!.at(-1)?.syscallMix}`);
  for (const n of names) console.log(`system calls per idle s, "${n}" (last run): ${results.get(n)!.at(-1)?.idleSyscallMix}`);
  for (const n of names) console.log(`CPU per sequential chat by thread, "${n}" (each run): ${results.get(n)!.map((x) => x.threadMix).join(' | ')}`);
  for (const n of names) console.log(`idle CPU per s by thread, "${n}" (each run): ${results.get(n)!.map((x) => x.idleThreadMix).join(' | ')}`);
  if (CPU_PROF) printProfiles(names.slice(1), results);
  line('RSS added by the first widget (MB)', 'widgetRssMb', '', 1, () => true);
  console.log(`Redis per chat ("with", last run, commands inside scripts included): ${results.get('with')!.at(-1)?.redisMix}`);
  console.log(`Redis per idle second ("with", last run): ${results.get('with')!.at(-1)?.idleRedisMix}`);
  console.log(`CPU pressure at the end ${cpuPressure()}`);
}

/**
 * BENCH_CPU_PROF: the plugin's own CPU per sequential chat, read off the profile. "Frames" is the sampled time
 * whose nearest file frame is the plugin's (so host code the HTTP hook merely wraps is not counted); under CPU
 * pressure samples also count time the thread waited for a core, so it is also given scaled to the main thread's
 * measured CPU (frames / busy samples × main-thread CPU). GC is not attributed to anyone.
 */
function printProfiles(names: string[], results: Map<string, RunResult[]>): void {
  for (const n of names) {
    const runs = results.get(n)!.filter((x) => x.profile);
    if (runs.length === 0) continue;
    const each = (f: (x: RunResult, p: ProfileShare) => number) => runs.map((x) => fixed(f(x, x.profile!), 3)).join(' / ');
    console.log(
      `profile "${n}", per sequential chat (each run): plugin frames ${each((_x, p) => p.matchedMs / CHATS)} ms, ` +
        `scaled to main-thread CPU ${each((x, p) => (p.busyMs > 0 ? (p.matchedMs / p.busyMs) * x.mainCpuMsPerChat : NaN))} ms (target ≤ 0.5); ` +
        `busy samples ${each((_x, p) => p.busyMs / CHATS)} ms, GC ${each((_x, p) => p.gcMs / CHATS)} ms`,
    );
    const last = runs.at(-1)!.profile!;
    const us = (ms: number) => ((ms / CHATS) * 1000).toFixed(0);
    console.log(`  largest plugin frames ("${n}", last run, µs per chat): ${last.top.slice(0, 15).map((t) => `${t.frame} ${us(t.ms)}`).join('; ')}`);
    if (last.modules.length > 1) console.log(`  by bundled source (µs per chat): ${last.modules.slice(0, 15).map((m) => `${m.module} ${us(m.ms)}`).join('; ')}`);
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
