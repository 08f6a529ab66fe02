/**
 * bench:gate, phase "active users": what LibreChat's process holds per active user (issue 19: RSS added by the
 * plugin with 10,000 active users ≤ 100 MB).
 *
 * Per variant (without the preload, with it, and the optional "before" build), a fresh host process: ready, then
 * BENCH_ACTIVE_USERS distinct users (new ids per variant, so every plugin variant meets them for the first time:
 * a counter rebuild each) chat once — the gate's reservation, then the turn's two Transaction rows (settlement,
 * ledger row, release) — at 20 concurrent clients. RSS is read from /proc when ready and after the chats have
 * settled; "added" is with − without, measured in the same run. Any per-user state the process keeps (caches,
 * sets keyed by user or message) shows up in the difference.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Types } from 'mongoose';
import { accessToken, BROWSER_UA, HOST_ENTRY } from '../librechat-plugin/test/helpers';
import { arg, fixed } from './_shared';

export const ACTIVE_USERS = arg('active-users', 'BENCH_ACTIVE_USERS', 10_000);
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
  const child = spawn(process.execPath, [...(register ? ['--require', register] : []), HOST_ENTRY], { cwd: env.cwd, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
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
      const doc = (tokenType: string, rawAmount: number) => ({
        user: users[u], conversationId, messageId: `m-${conversationId}`, tokenType, model: 'gpt-4o', context: 'message', rate: 1, rawAmount, tokenValue: rawAmount,
      });
      const tx = await fetch(`${url}/__test/tx/insertMany`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ docs: [doc('prompt', -40), doc('completion', -12)] }) });
      await tx.arrayBuffer();
    };
    await chat(0); // the runtime is up (with the plugin), like "RSS when ready" in the main phase
    await sleep(1_000);
    const readyRssMb = rssMb(child.pid!);
    const t0 = performance.now();
    let next = 1;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        for (let i = next++; i < users.length; i = next++) await chat(i);
      }),
    );
    const chatsPerS = (users.length - 1) / ((performance.now() - t0) / 1000);
    await sleep(SETTLE_MS); // coalesced settlements, ledger group commits, releases
    return { readyRssMb, afterRssMb: rssMb(child.pid!), chatsPerS };
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
  console.log(`${`${ACTIVE_USERS.toLocaleString('en')} active users (1 chat each)`.padEnd(36)}${names.map((n) => n.padStart(10)).join('')}${names.slice(1).map((n) => `${n} +`.padStart(12)).join('')}   target`);
  const row = (label: string, k: keyof UsersResult, target: string, ok: (a: number) => boolean) => {
    const added = names.slice(1).map((n) => results.get(n)![k] - base[k]);
    const verdict = target && Number.isFinite(added[0]!) ? (ok(added[0]!) ? 'ok' : 'MISS') : '';
    console.log(`${label.padEnd(36)}${names.map((n) => cell(results.get(n)![k])).join('')}${added.map((a) => fixed(a, 1).padStart(12)).join('')}   ${target.padEnd(8)} ${verdict}`);
  };
  row('RSS when ready (MB)', 'readyRssMb', '', () => true);
  row(`RSS after ${ACTIVE_USERS} users (MB)`, 'afterRssMb', '≤ 100', (a) => a <= 100);
  row('chats per s (20 concurrent)', 'chatsPerS', '', () => true);
  const growth = (n: string) => results.get(n)!.afterRssMb - results.get(n)!.readyRssMb;
  console.log(`RSS growth over the users (after − ready): ${names.map((n) => `${n} ${fixed(growth(n), 1)} MB`).join(', ')}; per user, with − without: ${fixed(((growth(names[1]!) - growth(names[0]!)) * 1024 * 1024) / ACTIVE_USERS / 1024, 2)} kB`);
}
