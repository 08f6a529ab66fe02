/**
 * bench:gate, phase "active users": what LibreChat's process holds per active user (issue 19: RSS added by the
 * plugin with 10,000 active users ≤ 100 MB).
 *
 * Per variant (without the preload, with it, and the optional "before" build), a fresh host process: ready, then
 * BENCH_ACTIVE_USERS distinct users (new ids per variant, so every plugin variant meets them for the first time:
 * a counter rebuild each) chat once — the gate's reservation, and with BENCH_ACTIVE_TX=1 the turn's two
 * Transaction rows (settlement, ledger row, release) — at 20 concurrent clients. RSS is read from /proc when ready and after the chats have
 * settled; "added" is with − without, measured in the same run. Any per-user state the process keeps (caches,
 * sets keyed by user or message) shows up in the difference.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Types } from 'mongoose';
import { accessToken, BROWSER_UA, HOST_ENTRY } from '../librechat-plugin/test/helpers';
import { arg, fixed } from './_shared';

export const ACTIVE_USERS = arg('active-users', 'BENCH_ACTIVE_USERS', 10_000);
/**
 * Default (BENCH_ACTIVE_TX=0): the gate only — each user's reservation stays open (until
 * SOLARIS_RESERVATION_TTL_MS), the most the gate keeps per user. BENCH_ACTIVE_TX=1 also writes each turn's two
 * Transaction rows (settlement, ledger row, release): use it with a real mongod (MONGO_URI), or fewer users — the
 * embedded MongoDB stand-in (jongodb) slows to a few inserts per second as its collections grow on a loaded box.
 */
const WITH_TX = arg('active-tx', 'BENCH_ACTIVE_TX', 0) !== 0;
const CONCURRENCY = 20;
const SETTLE_MS = 3_000;

export interface UsersPhaseEnv {
  mongoUri: string;
  databaseUrl: string;
  redisUrl: string;
  /** The host's working directory (its .env holds the JWT secrets). */
  cwd: string;
  jwtSecret: string;
}

interface UsersResult {
  readyRssMb: number;
  afterRssMb: number;
  /** After a full GC in the host (node --expose-gc, POST /__test/gc): what stays, not the burst's garbage. */
  readyGcRssMb: number;
  afterGcRssMb: number;
  /** V8 heap in use after that GC: what JavaScript keeps (RSS also holds freed memory the allocator kept). */
  readyHeapMb: number;
  afterHeapMb: number;
  chatsPerS: number;
}

function rssMb(pid: number): number {
  const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) / 1024;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function runVariant(env: UsersPhaseEnv, register: string | null, users: string[]): Promise<UsersResult> {
  const childEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && k !== 'NODE_OPTIONS') childEnv[k] = v;
  Object.assign(childEnv, { MONGO_URI: env.mongoUri, DATABASE_URL: env.databaseUrl, REDIS_URL: env.redisUrl, PORT: '0', LOG_LEVEL: 'warn' });
  const child = spawn(process.execPath, ['--expose-gc', ...(register ? ['--require', register] : []), HOST_ENTRY], { cwd: env.cwd, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  try {
    const deadline = Date.now() + 30_000;
    let m: RegExpExecArray | null;
    while (!(m = /HOST_LISTENING (\d+)/.exec(out))) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`host did not start:\n${out}`);
      await sleep(5);
    }
    const url = `http://127.0.0.1:${m[1]}`;
    const tokens = users.map((id) => accessToken(env.jwtSecret, { id }, 3_600));
    const chat = async (u: number): Promise<void> => {
      const conversationId = `users-${users[u]}`;
      const r = await fetch(`${url}/api/agents/chat/FakeAI`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${tokens[u]}`, 'User-Agent': BROWSER_UA },
        body: JSON.stringify({ text: 'Olá! Pode resumir o relatório de vendas do trimestre em três frases?', conversationId, endpoint: 'FakeAI', model: 'gpt-4o' }),
      });
      await r.arrayBuffer();
      if (r.status !== 200) throw new Error(`chat answered ${r.status}`);
      if (!WITH_TX) return;
      const doc = (tokenType: string, rawAmount: number) => ({
        user: users[u], conversationId, messageId: `m-${conversationId}`, tokenType, model: 'gpt-4o', context: 'message', rate: 1, rawAmount, tokenValue: rawAmount,
      });
      const tx = await fetch(`${url}/__test/tx/insertMany`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ docs: [doc('prompt', -40), doc('completion', -12)] }) });
      await tx.arrayBuffer();
    };
    await chat(0); // the runtime is up (with the plugin), like "RSS when ready" in the main phase
    const gcRss = async (): Promise<[number, number]> => {
      const mem = (await (await fetch(`${url}/__test/gc`, { method: 'POST' })).json()) as { heapUsed: number };
      await sleep(200);
      return [rssMb(child.pid!), mem.heapUsed / 1024 / 1024];
    };
    await sleep(1_000);
    const readyRssMb = rssMb(child.pid!);
    const [readyGcRssMb, readyHeapMb] = await gcRss();
    const t0 = performance.now();
    let next = 1;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        for (let i = next++; i < users.length; i = next++) await chat(i);
      }),
    );
    const chatsPerS = (users.length - 1) / ((performance.now() - t0) / 1000);
    await sleep(SETTLE_MS); // coalesced settlements, ledger group commits, releases
    const afterRssMb = rssMb(child.pid!);
    const [afterGcRssMb, afterHeapMb] = await gcRss();
    return { readyRssMb, afterRssMb, readyGcRssMb, afterGcRssMb, readyHeapMb, afterHeapMb, chatsPerS };
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await Promise.race([exited, sleep(5_000)]);
  }
}

/**
 * Runs the phase for each variant (fresh users per variant) and prints RSS when ready, after the users, and the
 * "added" rows against the target. `variants[0]` must be the one without the plugin.
 */
export async function activeUsersPhase(env: UsersPhaseEnv, variants: { name: string; register: string | null }[]): Promise<void> {
  if (ACTIVE_USERS <= 0) return;
  const results = new Map<string, UsersResult>();
  for (const [i, v] of variants.entries()) {
    // Fresh ids, and a fresh MongoDB database per variant: the MongoDB stand-in's inserts slow down as the
    // Transaction collection grows, which would favour the variant that runs first. The gate and the hook
    // need no user documents (bearer tokens; the ledger's users_cache is Postgres).
    const users = Array.from({ length: ACTIVE_USERS }, () => new Types.ObjectId().toHexString());
    const mongoUri = env.mongoUri.replace(/\/([^/?]*)(\?|$)/, `/bench_users_${i}_${Date.now().toString(36)}$2`);
    const r = await runVariant({ ...env, mongoUri }, v.register, users);
    results.set(v.name, r);
    console.error(`  ${ACTIVE_USERS} users, ${v.name.padEnd(7)}: ${JSON.stringify(r, (_k, val: unknown) => (typeof val === 'number' ? Number(val.toFixed(1)) : val))}`);
  }
  const base = results.get(variants[0]!.name)!;
  const names = variants.map((v) => v.name);
  const cell = (n: number) => fixed(n, 1).padStart(10);
  console.log(`${`${ACTIVE_USERS.toLocaleString('en')} users, 1 chat each${WITH_TX ? '' : ', gate only'}`.padEnd(36)}${names.map((n) => n.padStart(10)).join('')}${names.slice(1).map((n) => `${n} +`.padStart(12)).join('')}   target`);
  const row = (label: string, k: keyof UsersResult, target: string, ok: (a: number) => boolean) => {
    const added = names.slice(1).map((n) => results.get(n)![k] - base[k]);
    const verdict = target && Number.isFinite(added[0]!) ? (ok(added[0]!) ? 'ok' : 'MISS') : '';
    console.log(`${label.padEnd(36)}${names.map((n) => cell(results.get(n)![k])).join('')}${added.map((a) => fixed(a, 1).padStart(12)).join('')}   ${target.padEnd(8)} ${verdict}`);
  };
  row('RSS when ready (MB)', 'readyRssMb', '', () => true);
  row(`RSS after ${ACTIVE_USERS} users (MB)`, 'afterRssMb', '≤ 100', (a) => a <= 100);
  row('RSS when ready, after a full GC (MB)', 'readyGcRssMb', '', () => true);
  row(`RSS after ${ACTIVE_USERS} users, full GC (MB)`, 'afterGcRssMb', '≤ 100', (a) => a <= 100);
  row('V8 heap used when ready, full GC (MB)', 'readyHeapMb', '', () => true);
  row(`V8 heap used after the users, full GC (MB)`, 'afterHeapMb', '', () => true);
  row('chats per s (20 concurrent)', 'chatsPerS', '', () => true);
  const growth = (n: string) => results.get(n)!.afterGcRssMb - results.get(n)!.readyGcRssMb;
  const heap = (n: string) => results.get(n)!.afterHeapMb - results.get(n)!.readyHeapMb;
  const perUser = (f: (n: string) => number) => fixed(((f(names[1]!) - f(names[0]!)) * 1024) / ACTIVE_USERS, 2);
  console.log(`Growth over the users (after − ready, full GC): RSS ${names.map((n) => `${n} ${fixed(growth(n), 1)}`).join(', ')} MB; heap ${names.map((n) => `${n} ${fixed(heap(n), 1)}`).join(', ')} MB; per user, ${names[1]} − without: RSS ${perUser(growth)} kB, heap ${perUser(heap)} kB`);
}
