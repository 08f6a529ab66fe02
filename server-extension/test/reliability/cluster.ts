/**
 * Replicas of the standalone server as operators run them: `server-extension/src/entry/standalone.ts`
 * bundled with esbuild (as scripts/build.mjs does) and started as child processes; plus a load generator
 * using the official `openai` client (streaming) and the ledger/counter checks the reliability tests share.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import OpenAI from 'openai';
import { Redis as IORedis, type Redis } from 'ioredis';
import { loadConfig } from '../../src/core/config';
import { createEngine, type EngineRuntime } from '../../src/core/create-engine';
import { startFakeUpstream } from '../../src/dev/fake-upstream';
import { createTestDb, type TestDb } from '../helpers/infra';
import { requestIdFor } from '../../src/adapters/proxy/identity';
import { estimatePromptTokens } from '../../src/adapters/proxy/tokens';
import { askedLimit, fakeCompletionTokens, fakePromptTokens, type FakeUpstream } from '../../src/dev/fake-upstream';
import type { Queryable } from '../../src/core/sql';
import { freePort, sleep, startPrivateRedis, type PrivateRedis } from './faults';
import { startRedisCluster, type RedisClusterServer } from '../../src/dev/redis-cluster';
import { createRedis } from '../../src/core/redis-client';

export const ROOT = join(__dirname, '../../..');
export const PROXY_KEY = 'reliability-proxy-key-0123456789';

/** Bundles the standalone entry once per test file; returns its path and a cleanup. */
export async function buildStandalone(tag: string): Promise<{ file: string; remove(): void }> {
  const file = join(ROOT, 'dist', 'test', `reliability-${tag}-${process.pid}.cjs`);
  await build({
    entryPoints: [join(ROOT, 'server-extension/src/entry/standalone.ts')],
    outfile: file,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    packages: 'external',
    plugins: [{ name: 'wire', setup: (b) => b.onResolve({ filter: /^@solaris\/wire(\/[a-z-]+)?$/ }, (a) => ({ path: join(ROOT, `wire/${a.path.split('/')[2] ?? 'index'}.ts`) })) }],
    loader: { '.lua': 'text' },
    logLevel: 'error',
    define: { 'import.meta.url': 'importMetaUrl' },
    banner: { js: "const importMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  });
  return { file, remove: () => rmSync(file, { force: true }) };
}

export interface Replica {
  url: string;
  port: number;
  child: ChildProcess;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export async function startReplica(file: string, env: Record<string, string>, port?: number): Promise<Replica> {
  const p = port ?? (await freePort());
  let out = '';
  const child = spawn(process.execPath, [file], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      NODE_OPTIONS: '',
      LOG_LEVEL: 'warn',
      HOST: '127.0.0.1',
      PORT: String(p),
      SOLARIS_PROXY_KEY: PROXY_KEY,
      JWT_SECRET: 'reliability-access-secret',
      JWT_REFRESH_SECRET: 'reliability-refresh-secret',
      SOLARIS_MAX_INFLIGHT: '1000',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
  const url = `http://127.0.0.1:${p}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`replica exited at start:\n${out}`);
    try {
      if ((await fetch(url + '/healthz')).status === 200) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) throw new Error(`replica did not start:\n${out}`);
    await sleep(50);
  }
  return {
    url,
    port: p,
    child,
    output: () => out,
    exited,
    async kill(signal = 'SIGKILL') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      await exited;
    },
  };
}

export type Outcome = 'completed' | 'refused' | 'unavailable' | 'failed';

export interface RequestResult {
  key: string;
  /** Ledger request id (the proxy derives it from the user and X-Solaris-Request-Id). */
  requestId: string;
  replica: number;
  outcome: Outcome;
  status?: number;
  /** Weighted tokens the proxy reserved for it (its estimate). */
  estimate: number;
  chunks: number;
}

export interface ChatSpec {
  content: string;
  maxTokens: number;
}

/** What the proxy reserves for the body we send: prompt estimate + max_tokens (weight 1 for fake-model). */
export function proxyEstimate(spec: ChatSpec): number {
  return estimatePromptTokens(chatBody(spec), 'fake-model') + spec.maxTokens;
}

function chatBody(spec: ChatSpec): Record<string, unknown> {
  return { model: 'fake-model', messages: [{ role: 'user', content: spec.content }], max_tokens: spec.maxTokens, stream: true };
}

/** One streaming chat through a replica with the official client; never throws. */
export async function chat(url: string, replica: number, userId: string, key: string, spec: ChatSpec): Promise<RequestResult> {
  const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: PROXY_KEY, maxRetries: 0, timeout: 30_000, defaultHeaders: { 'X-Solaris-User-Id': userId, 'X-Solaris-Request-Id': key } });
  const base = { key, requestId: requestIdFor({ 'x-solaris-request-id': key }, userId), replica, estimate: proxyEstimate(spec), chunks: 0 };
  try {
    const stream = await client.chat.completions.create({ model: 'fake-model', messages: [{ role: 'user', content: spec.content }], max_tokens: spec.maxTokens, stream: true });
    let chunks = 0;
    for await (const c of stream) if (c.choices[0]?.delta?.content) chunks++;
    return { ...base, outcome: 'completed', status: 200, chunks };
  } catch (e) {
    const status = (e as { status?: number }).status;
    if (status === 402) return { ...base, outcome: 'refused', status };
    if (status === 503) return { ...base, outcome: 'unavailable', status };
    return { ...base, outcome: 'failed', status };
  }
}

/**
 * Runs `total` chats with at most `concurrency` at once; request i goes to pickReplica(i) (null = skip:
 * the load balancer has no live replica for it). `onStarted(i)` lets a test inject a fault mid-load.
 */
export async function runLoad(opts: {
  total: number;
  concurrency: number;
  userId: string;
  prefix: string;
  spec: ChatSpec | ((i: number) => ChatSpec);
  replicaUrl: (i: number) => { url: string; index: number } | null;
  onStarted?: (i: number) => void | Promise<void>;
}): Promise<RequestResult[]> {
  const results: RequestResult[] = [];
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= opts.total) return;
      await opts.onStarted?.(i);
      const target = opts.replicaUrl(i);
      const spec = typeof opts.spec === 'function' ? opts.spec(i) : opts.spec;
      if (!target) continue;
      results.push(await chat(target.url, target.index, opts.userId, `${opts.prefix}-${i}`, spec));
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  return results;
}

/** What the fake upstream reported for each request id it was called with (prompt + completion). */
/**
 * What the upstream served per request id, and the completion limit the proxy sent it (the part of its hold
 * left for the answer: smaller than asked when the proxy reserved up to what was left of the quota).
 */
export function upstreamUsage(fake: FakeUpstream): Map<string, { prompt: number; completion: number; limit: number | null }> {
  const out = new Map<string, { prompt: number; completion: number; limit: number | null }>();
  for (const r of fake.requests) {
    const id = r.headers['x-litellm-call-id'];
    if (typeof id !== 'string' || r.path !== '/chat/completions') continue;
    out.set(id, { prompt: fakePromptTokens(r.json), completion: fakeCompletionTokens(r.json, fake.options), limit: askedLimit(r.json) });
  }
  return out;
}

export interface LedgerRow {
  request_id: string;
  prompt_tokens: number;
  completion_tokens: number;
  weighted_tokens: number;
  estimated: boolean;
  period_key: string;
}

export async function ledgerRows(db: Queryable, userId: string): Promise<LedgerRow[]> {
  const { rows } = await db.query<LedgerRow>(
    'SELECT request_id, prompt_tokens, completion_tokens, weighted_tokens, estimated, period_key FROM ledger WHERE user_id = $1',
    [userId],
  );
  return rows;
}

/** Open reservations of a user straight from Redis (requestId → amount:expiresAt). */
export async function openReservations(redis: Redis, userId: string): Promise<number> {
  const all = await redis.hgetall(`sq:{${encodeURIComponent(userId)}}:r`);
  const now = Date.now();
  return Object.values(all).filter((v) => Number(v.split(':')[1]) > now).length;
}

export function count<T extends { outcome: Outcome }>(rs: T[]): Record<Outcome, number> {
  const c: Record<Outcome, number> = { completed: 0, refused: 0, unavailable: 0, failed: 0 };
  for (const r of rs) c[r.outcome]++;
  return c;
}

export interface TwoReplicaCluster {
  db: TestDb;
  /** The private redis-server (with `redisCluster`, a stand-in whose methods throw: use `redisCluster`). */
  redis: PrivateRedis;
  /** `opts.redisCluster`: the 3-master Redis Cluster both replicas and `admin` use (SOLARIS_REDIS_MODE=cluster). */
  redisCluster?: RedisClusterServer;
  fake: FakeUpstream;
  replicas: Replica[];
  /** An engine of the test itself on the same schema and Redis: plays the operator and reads balances. */
  admin: EngineRuntime;
  /** The environment both replicas got, and their bundle (to restart one). */
  env: Record<string, string>;
  bundleFile: string;
  stop(): Promise<void>;
}

/**
 * The usual stage of a reliability test: its own Postgres schema, a private redis-server, a fake upstream
 * and two standalone replicas sharing them, plus an operator engine.
 */
export async function startTwoReplicaCluster(
  tag: string,
  opts: { chunkDelayMs: number; env?: Record<string, string>; redisCluster?: boolean },
): Promise<TwoReplicaCluster> {
  const outboxAck = opts.env?.SOLARIS_SETTLE_ACK === 'outbox';
  const [db, redis, fake, bundle] = await Promise.all([
    createTestDb(),
    opts.redisCluster ? startRedisCluster() : startPrivateRedis({ appendonly: outboxAck }),
    startFakeUpstream({ chunks: 20, chunkDelayMs: opts.chunkDelayMs }),
    buildStandalone(tag),
  ]);
  const redisCluster = 'nodes' in redis ? redis : undefined;
  const redisUrl = redisCluster ? `redis://127.0.0.1:${redisCluster.ports[0]}` : (redis as PrivateRedis).url;
  const mode: Record<string, string> = redisCluster ? { SOLARIS_REDIS_MODE: 'cluster' } : {};
  const env: Record<string, string> = { DATABASE_URL: db.childEnvUrl, REDIS_URL: redisUrl, LITELLM_URL: fake.url, ...mode, ...opts.env };
  const replicas = await Promise.all([startReplica(bundle.file, env), startReplica(bundle.file, env)]);
  const adminConfig = loadConfig({ DATABASE_URL: db.childEnvUrl, REDIS_URL: redisUrl, ...mode, SOLARIS_SETTLE_ACK: outboxAck ? 'outbox' : 'ledger' });
  const admin = await createEngine({
    // With the outbox ack the admin engine drains too (a third "replica"), so the ledger catches up while replicas die.
    config: adminConfig,
    db,
    redis: redisCluster ? createRedis({ ...adminConfig, REDIS_URL: redisUrl }, { maxRetriesPerRequest: 2 }) : new IORedis(redisUrl, { maxRetriesPerRequest: 2 }),
  });
  admin.redis!.on('error', () => undefined); // the tests stop and restart this Redis on purpose
  const noPrivateRedis = new Proxy({} as PrivateRedis, {
    get: () => {
      throw new Error('this cluster runs on a Redis Cluster: use redisCluster');
    },
  });
  return {
    db,
    redis: redisCluster ? noPrivateRedis : (redis as PrivateRedis),
    redisCluster,
    fake,
    replicas,
    admin,
    env,
    bundleFile: bundle.file,
    async stop() {
      await Promise.all(replicas.map((r) => r.kill()));
      await admin.engine.close();
      admin.redis?.disconnect();
      await fake.close();
      await redis.stop();
      bundle.remove();
      await db.drop();
    },
  };
}
