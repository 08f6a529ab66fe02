/**
 * npm run bench:gate:librechat — what the plugin costs inside the REAL LibreChat v0.8.7 (the kit in
 * shared/librechat-host), installed exactly as docs/operators.md says (the real-LibreChat lane's install), started
 * WITHOUT and WITH the preload, alternating, a fresh LibreChat (and in-memory MongoDB) per run.
 *
 * A chat is what LibreChat's web client does: `POST /api/agents/chat/Direct` then the SSE stream to its `final`
 * event, against a fake OpenAI-compatible provider that LibreChat calls directly, so LibreChat's own Transaction
 * rows meter it (the gate reserves, the Transaction hook settles, the hold is freed). Printed per variant (lower
 * of the rounds for CPU, median otherwise) and as "added" = with − without, against issue #19's targets:
 * CPU per chat of LibreChat's process (every thread), Redis commands per chat and per idle second (a private
 * redis-server), chat POST p50 (sequential, and 20 concurrent), whole turn p50, RSS when ready, start-up
 * (LibreChat spawned → /readyz 200, polled every 20 ms), idle CPU, the first chat after a start.
 *
 * Env: BENCH_ROUNDS (2), BENCH_CHATS (sequential chats per run, 150), BENCH_CONC_CHATS (200), BENCH_IDLE_SECONDS (5),
 * SOLARIS_LIBRECHAT_KIT (else <repo>/../shared/librechat-host), TEST_DATABASE_URL (Postgres admin URL).
 * Needs `npm run build` first (the npm script does it): the install copies dist/solaris.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { startFakeUpstream } from '../server-extension/src/dev/fake-upstream';
import { freePort, startRedisServer } from '../server-extension/src/dev/redis-server';
import { installLikeOperator, kitDir, setupKit, type LaneInstall } from '../librechat-plugin/lane/install';
import { BROWSER_UA, LibreChatClient, type Session } from '../librechat-plugin/lane/librechat';
import { arg, fixed, pct } from './_shared';
import { variantTable } from './_compare';
import { profileShare } from './_cpuprofile';
import { cpuPressure, perUnit, processCpuMs, redisCalls, rssMb, totalCalls } from './_proc';

const ROUNDS = arg('rounds', 'BENCH_ROUNDS', 2);
const CHATS = arg('chats', 'BENCH_CHATS', 150);
const CONC_CHATS = arg('conc-chats', 'BENCH_CONC_CHATS', 200);
const CONCURRENCY = 20;
const IDLE_SECONDS = arg('idle', 'BENCH_IDLE_SECONDS', 5);
/** BENCH_CPU_PROF=1: the "with" runs write a V8 CPU profile; the plugin's own share is read off it (inclusive). */
const CPU_PROF = process.env.BENCH_CPU_PROF === '1';
const PROMPT = 'Olá! Pode resumir o relatório de vendas do trimestre em três frases?';

interface RunResult {
  readyMs: number;
  rssMb: number;
  firstPostMs: number;
  firstTurnMs: number;
  idleCpuMsPerS: number;
  idleRedisPerS: number;
  idleRedisMix: string;
  cpuMsPerChat: number;
  redisPerChat: number;
  redisMix: string;
  postP50: number;
  turnP50: number;
  concPostP50: number;
  concTurnP50: number;
  /** From the CPU profile: ms of samples with a plugin frame on the stack, per sequential chat (NaN without). */
  profPluginMsPerChat: number;
  /** From the CPU profile: ms per sequential chat of everything on LibreChat's main thread, and of GC. */
  profTotalMsPerChat: number;
  profGcMsPerChat: number;
  /** From the CPU profile: the plugin's heaviest frames, `function file:line ms-per-chat` (empty without). */
  profTopFrames: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(fn: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(20);
  }
}

/** The kit's `start`, asynchronously, so that this process can time LibreChat's own start-up at 20 ms. */
async function startTimed(kit: string, inst: LaneInstall, envFile: string, port: number, mongoPort: number, stateDir: string) {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: process.env.TMPDIR, LANG: process.env.LANG };
  const args = ['--port', String(port), '--mongo-port', String(mongoPort), '--config', inst.configFile, '--env-file', envFile, '--state-dir', stateDir, '--timeout', '150'];
  const child = spawn(join(kit, 'start'), args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', r));
  const pidFile = join(stateDir, 'librechat.pid');
  await until(async () => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '', 60_000, 'LibreChat spawned');
  const spawnedAt = performance.now();
  const pid = Number(readFileSync(pidFile, 'utf8').split(' ')[0]);
  const url = `http://127.0.0.1:${port}`;
  await until(async () => (await fetch(`${url}/readyz`).then((r) => r.status, () => 0)) === 200, 150_000, 'LibreChat /readyz');
  const readyMs = performance.now() - spawnedAt;
  if ((await exited) !== 0) throw new Error(`kit start failed:\n${out}`);
  return { pid, url, readyMs };
}

function stopKit(kit: string, stateDir: string): Promise<void> {
  return new Promise((r) => spawn(join(kit, 'stop'), [stateDir], { stdio: 'ignore' }).once('exit', () => r()));
}

/** One chat turn as LibreChat's web client does it; returns the POST's and the whole turn's ms. */
async function chat(base: string, s: Session): Promise<{ post: number; turn: number }> {
  const headers = { authorization: `Bearer ${s.token}`, 'content-type': 'application/json', 'user-agent': BROWSER_UA };
  const t0 = performance.now();
  const r = await fetch(`${base}/api/agents/chat/Direct`, {
    method: 'POST',
    headers,
    body: JSON.stringify({
      text: PROMPT, sender: 'User', isCreatedByUser: true, parentMessageId: '00000000-0000-0000-0000-000000000000', conversationId: 'new',
      messageId: randomUUID(), error: false, endpoint: 'Direct', endpointType: 'custom', model: 'fake-model', isTemporary: false,
      isRegenerate: false, isContinued: false, timezone: 'UTC',
    }),
  });
  const body = await r.text();
  const post = performance.now() - t0;
  if (r.status !== 200) throw new Error(`chat POST: ${r.status} ${body.slice(0, 300)}`);
  const { streamId } = JSON.parse(body) as { streamId: string };
  const sse = await fetch(`${base}/api/agents/chat/stream/${streamId}`, { headers: { ...headers, accept: 'text/event-stream' } });
  const raw = await sse.text();
  if (!raw.includes('"final":true')) throw new Error(`chat stream without a final event: ${raw.slice(-300)}`);
  return { post, turn: performance.now() - t0 };
}

async function runOnce(kit: string, inst: LaneInstall, envFile: string, stats: Redis, label: string, profDir: string | null): Promise<RunResult> {
  const [port, mongoPort] = [await freePort(), await freePort()];
  const stateDir = join(inst.lc, `state-${label}-${Date.now().toString(36)}`);
  const { pid, url, readyMs } = await startTimed(kit, inst, envFile, port, mongoPort, stateDir);
  try {
    const api = new LibreChatClient(url);
    const email = `bench-${label}-${Date.now().toString(36)}@bench.test`;
    await api.register('Bench User', email, 'bench-password-123');
    const s = await api.login(email, 'bench-password-123');
    // One user per concurrent client: LibreChat keeps one generation job per user's conversation stream.
    const workers: Session[] = [];
    for (let i = 0; i < CONCURRENCY; i++) {
      const e = `w${i}-${email}`;
      await api.register(`Bench ${i}`, e, 'bench-password-123');
      workers.push(await api.login(e, 'bench-password-123'));
    }
    const rss = rssMb(pid);
    const first = await chat(url, s);
    await sleep(1_000);

    const idleCpu0 = processCpuMs(pid);
    const idleRedis0 = await redisCalls(stats);
    const idleT0 = performance.now();
    await sleep(IDLE_SECONDS * 1000);
    const idleS = (performance.now() - idleT0) / 1000;
    const idleCpuMsPerS = (processCpuMs(pid) - idleCpu0) / idleS;
    const idleRedis1 = await redisCalls(stats);

    for (let i = 0; i < 20; i++) await chat(url, s); // warm-up: JIT, pools, caches
    await sleep(1_000);
    const cpu0 = processCpuMs(pid);
    const seqFromUs = Number(process.hrtime.bigint() / 1000n);
    const redis0 = await redisCalls(stats);
    const seq: Array<{ post: number; turn: number }> = [];
    for (let i = 0; i < CHATS; i++) seq.push(await chat(url, s));
    await sleep(1_000); // LibreChat writes the turn's transactions after the stream; the hook coalesces 250 ms
    const cpuMsPerChat = (processCpuMs(pid) - cpu0) / CHATS;
    const seqToUs = Number(process.hrtime.bigint() / 1000n);
    const redis1 = await redisCalls(stats);

    const conc: Array<{ post: number; turn: number }> = [];
    let next = 0;
    await Promise.all(
      workers.map(async (w) => {
        for (let i = next++; i < CONC_CHATS; i = next++) conc.push(await chat(url, w));
      }),
    );
    const prof = async () => {
      if (!profDir) return { profPluginMsPerChat: NaN, profTotalMsPerChat: NaN, profGcMsPerChat: NaN, profTopFrames: [] };
      await stopKit(kit, stateDir); // the profile is written when LibreChat exits
      const file = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(profDir, f))[0];
      if (!file) throw new Error(`no CPU profile in ${profDir}`);
      const share = profileShare(file, join(inst.lc, 'solaris') + '/', seqFromUs, seqToUs);
      const top = share.top.slice(0, 12).map((x) => [x.frame, x.ms] as const);
      return {
        profPluginMsPerChat: share.matchedMs / CHATS, profTotalMsPerChat: share.busyMs / CHATS, profGcMsPerChat: share.gcMs / CHATS,
        profTopFrames: top.map(([k, ms]) => `${(ms / CHATS).toFixed(3)} ms  ${k}`),
      };
    };
    return {
      ...(await prof()),
      readyMs, rssMb: rss, firstPostMs: first.post, firstTurnMs: first.turn, idleCpuMsPerS,
      idleRedisPerS: (totalCalls(idleRedis1) - totalCalls(idleRedis0)) / idleS, idleRedisMix: perUnit(idleRedis0, idleRedis1, idleS),
      cpuMsPerChat, redisPerChat: (totalCalls(redis1) - totalCalls(redis0)) / CHATS, redisMix: perUnit(redis0, redis1, CHATS),
      postP50: pct(seq.map((x) => x.post), 0.5), turnP50: pct(seq.map((x) => x.turn), 0.5),
      concPostP50: pct(conc.map((x) => x.post), 0.5), concTurnP50: pct(conc.map((x) => x.turn), 0.5),
    };
  } finally {
    await stopKit(kit, stateDir);
    rmSync(stateDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const kit = kitDir();
  setupKit(kit);
  const [upstream, litellm, redis] = await Promise.all([startFakeUpstream({ record: false }), startFakeUpstream({ record: false }), startRedisServer()]);
  const inst = await installLikeOperator({ port: await freePort(), litellmUrl: litellm.url, directUrl: upstream.url, redisUrl: redis.url, dotenv: { DEBUG_LOGGING: 'false' } });
  // "without": the same environment less the preload (NODE_OPTIONS carries only `--require …/register.cjs`).
  const withFile = inst.envFile;
  const withoutFile = join(inst.lc, 'without.env');
  writeFileSync(withoutFile, readFileSync(withFile, 'utf8').split('\n').filter((l) => !l.startsWith('NODE_OPTIONS=')).join('\n'));
  const stats = redis.client();
  console.log(`bench:gate:librechat — real LibreChat v0.8.7, ${ROUNDS} alternating rounds, ${CHATS} sequential + ${CONC_CHATS} chats at ${CONCURRENCY} concurrent per run, CPU pressure ${cpuPressure()}`);
  const profDir = CPU_PROF ? mkdtempSync(join(tmpdir(), 'solaris-bench-prof-')) : null;
  const profiledFile = join(inst.lc, 'with-prof.env');
  if (profDir) {
    const flags = ` --cpu-prof --cpu-prof-dir=${profDir} --cpu-prof-interval=250`;
    writeFileSync(profiledFile, readFileSync(withFile, 'utf8').replace(/^(NODE_OPTIONS='[^']*)'/m, `$1${flags}'`));
  }
  const variants: Array<{ name: string; file: string; prof: string | null }> = [
    { name: 'without', file: withoutFile, prof: null },
    { name: 'with', file: profDir ? profiledFile : withFile, prof: profDir },
  ];
  // BENCH_BEFORE_SOLARIS=<another build's dist/solaris>: a third variant, that build installed beside this one
  // (same database, Redis and settings; only the plugin folder differs), e.g. the plugin before a change.
  const before = process.env.BENCH_BEFORE_SOLARIS;
  if (before) {
    const dir = join(inst.lc, 'solaris-before');
    cpSync(before, dir, { recursive: true });
    const file = join(inst.lc, 'before.env');
    writeFileSync(file, readFileSync(withFile, 'utf8').replaceAll(join(inst.lc, 'solaris') + '/', dir + '/'));
    variants.push({ name: 'before', file, prof: null });
  }
  const results = new Map<string, RunResult[]>(variants.map((v) => [v.name, []]));
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const v of round % 2 === 0 ? variants : [...variants].reverse()) {
        if (v.prof) for (const f of readdirSync(v.prof)) rmSync(join(v.prof, f));
        const res = await runOnce(kit, inst, v.file, stats, v.name, v.prof);
        results.get(v.name)!.push(res);
        console.error(`  round ${round + 1} ${v.name.padEnd(7)}: ${JSON.stringify(res, (_k, val: unknown) => (typeof val === 'number' ? Number(val.toFixed(3)) : val))}`);
      }
    }
  } finally {
    stats.disconnect();
    await Promise.all([upstream.close(), litellm.close(), redis.stop(), inst.dropDatabase()]);
    rmSync(inst.lc, { recursive: true, force: true });
    // The last "with" run's profile stays for a closer look (Chrome DevTools, or bench/_cpuprofile.ts).
    if (profDir) console.log(`CPU profile of the last "with" run: ${readdirSync(profDir).map((f) => join(profDir, f)).join(' ')}`);
  }
  type Num = Exclude<keyof RunResult, 'redisMix' | 'idleRedisMix' | 'profPluginMsPerChat' | 'profTotalMsPerChat' | 'profGcMsPerChat' | 'profTopFrames'>;
  const low = (name: string, k: Num) => Math.min(...results.get(name)!.map((x) => x[k]));
  const med = (name: string, k: Num) => pct(results.get(name)!.map((x) => x[k]), 0.5);
  const names = variants.map((v) => v.name);
  const row = variantTable(names, '', 38);
  const line = (label: string, k: Num, target: string, digits: number, ok: ((a: number) => boolean) | null, pick = med) =>
    row(label, (n) => pick(n, k), target, digits, ok);
  line('CPU per chat, LibreChat process (ms)', 'cpuMsPerChat', '≤ 0.5', 2, (a) => a <= 0.5, low);
  line('Redis commands per chat (+Lua)', 'redisPerChat', '≤ 4', 2, (a) => a <= 4);
  line('chat POST p50, sequential (ms)', 'postP50', '≤ 0.5', 2, (a) => a <= 0.5);
  line(`chat POST p50, ${CONCURRENCY} concurrent (ms)`, 'concPostP50', '≤ 3', 2, (a) => a <= 3);
  line('whole turn p50, sequential (ms)', 'turnP50', '', 2, null);
  line(`whole turn p50, ${CONCURRENCY} concurrent (ms)`, 'concTurnP50', '', 2, null);
  line('RSS when ready (MB)', 'rssMb', '≤ 40', 1, (a) => a <= 40);
  line('start-up: spawn → /readyz (ms)', 'readyMs', '≤ 300', 0, (a) => a <= 300);
  line('idle CPU (ms per s)', 'idleCpuMsPerS', '~0', 2, (a) => a <= 0.5);
  line('idle Redis commands per s', 'idleRedisPerS', '~0', 2, (a) => a <= 0.1);
  line('first chat after start: POST (ms)', 'firstPostMs', '≤ 5', 1, (a) => a <= 5);
  line('first chat after start: turn (ms)', 'firstTurnMs', '', 1, null);
  if (CPU_PROF) {
    const w = results.get('with')!;
    const f = (k: 'profPluginMsPerChat' | 'profTotalMsPerChat' | 'profGcMsPerChat') => w.map((x) => fixed(x[k], 2)).join(' / ');
    console.log(`profile of the "with" runs, per sequential chat (each round): plugin frames on the stack ${f('profPluginMsPerChat')} ms (target ≤ 0.5) of main thread ${f('profTotalMsPerChat')} ms; GC ${f('profGcMsPerChat')} ms`);
    console.log(`the plugin's heaviest frames per sequential chat ("with", last round; self time of the nearest plugin frame):\n  ${w.at(-1)!.profTopFrames.join('\n  ')}`);
  }
  console.log(`Redis per chat ("with", last run): ${results.get('with')!.at(-1)?.redisMix}`);
  console.log(`Redis per idle second ("with", last run): ${results.get('with')!.at(-1)?.idleRedisMix}`);
  console.log(`CPU pressure at the end ${cpuPressure()}`);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
