/**
 * Graceful shutdown: SIGTERM to the standalone server (child process, as operators run it) while streams
 * are in flight → they finish and are settled before the process exits, promptly. And the bounded path
 * (in-process, short drain timeout): streams longer than the drain are cut and settled as estimated.
 */
import { PassThrough } from 'node:stream';
import OpenAI from 'openai';
import { Redis } from 'ioredis';
import { loadConfig } from '../../src/core/config';
import { createEngine } from '../../src/core/create-engine';
import { createLogger } from '../../src/core/logger';
import { createSolarisRuntime } from '../../src/runtime';
import { startFakeUpstream, type FakeUpstream } from '../../src/dev/fake-upstream';
import { createTestDb, createTestRedis, flushPrefix, type TestDb } from '../helpers/infra';
import { startPrivateRedis, type PrivateRedis } from './faults';
import { buildStandalone, ledgerRows, PROXY_KEY, startReplica, type Replica } from './cluster';

let db: TestDb;
let redis: PrivateRedis;
let fake: FakeUpstream;
let bundle: { file: string; remove(): void };
let replica: Replica | null = null;

beforeAll(async () => {
  [db, redis, fake, bundle] = await Promise.all([createTestDb(), startPrivateRedis(), startFakeUpstream({ chunks: 20, chunkDelayMs: 40 }), buildStandalone('shutdown')]);
});
afterAll(async () => {
  await replica?.kill();
  await fake?.close();
  await redis?.stop();
  bundle?.remove();
  await db?.drop();
});

function stream(baseUrl: string, userId: string, key: string) {
  const client = new OpenAI({ baseURL: `${baseUrl}/v1`, apiKey: PROXY_KEY, maxRetries: 0, defaultHeaders: { 'X-Solaris-User-Id': userId, 'X-Solaris-Request-Id': key } });
  let startedResolve!: () => void;
  const started = new Promise<void>((r) => (startedResolve = r));
  const done = (async () => {
    const s = await client.chat.completions.create({ model: 'fake-model', messages: [{ role: 'user', content: 'desligamento' }], stream: true, max_tokens: 50 });
    let n = 0;
    for await (const c of s) {
      if (c.choices[0]?.delta?.content) {
        n++;
        startedResolve();
      }
    }
    return n;
  })();
  done.catch(() => startedResolve());
  return { started, done };
}

describe('graceful shutdown', () => {
  it('SIGTERM with 12 streams in flight: all finish and are in the ledger before a prompt exit 0', async () => {
    replica = await startReplica(bundle.file, { DATABASE_URL: db.childEnvUrl, REDIS_URL: redis.url, LITELLM_URL: fake.url });
    const user = 'shutdown-user';
    const streams = Array.from({ length: 12 }, (_, i) => stream(replica!.url, user, `sd-${i}`));
    await Promise.all(streams.map((s) => s.started));
    const t0 = Date.now();
    replica.child.kill('SIGTERM');
    const chunks = await Promise.all(streams.map((s) => s.done));
    const exit = await replica.exited;
    const exitMs = Date.now() - t0;
    expect(chunks).toEqual(Array(12).fill(20));
    expect(exit.code).toBe(0);
    // Streams had ≤ 800 ms left: exit follows them, not the 10 s drain timeout.
    expect(exitMs).toBeLessThan(2_500);
    const rows = await ledgerRows(db.pool, user);
    expect(rows).toHaveLength(12);
    expect(rows.every((r) => !r.estimated && r.completion_tokens === 20)).toBe(true);
    // No new request is accepted once it is gone.
    await expect(fetch(replica.url + '/healthz')).rejects.toThrow();
    console.info(`[reliability] graceful-shutdown: SIGTERM with 12 streams in flight → all 12 completed and settled, exit 0 after ${exitMs} ms`);
  }, 30_000);

  it('streams longer than the drain timeout are cut and settled as estimated; shutdown stays bounded', async () => {
    const config = loadConfig({ DATABASE_URL: db.childEnvUrl, PORT: '1', HOST: '127.0.0.1', SOLARIS_PROXY_KEY: PROXY_KEY, LITELLM_URL: fake.url, JWT_SECRET: 'x', JWT_REFRESH_SECRET: 'y' });
    const testRedis = createTestRedis();
    const runtime = await createEngine({ config, db, redis: testRedis as Redis, migrate: false });
    const app = await createSolarisRuntime(config, { logger: createLogger({ level: 'error', stream: new PassThrough() }), engine: runtime, drainTimeoutMs: 300 });
    const { url } = await app.listen({ port: 0, host: config.HOST });
    try {
      fake.options.chunkDelayMs = 150; // 3 s streams
      const user = 'shutdown-slow-user';
      const streams = Array.from({ length: 4 }, (_, i) => stream(url, user, `slow-${i}`));
      await Promise.all(streams.map((s) => s.started));
      const t0 = Date.now();
      await app.shutdown();
      const ms = Date.now() - t0;
      const outcomes = await Promise.allSettled(streams.map((s) => s.done));
      expect(outcomes.every((o) => o.status === 'rejected' || (o.value as number) < 20)).toBe(true);
      expect(ms).toBeLessThan(2_000);
      const rows = await ledgerRows(db.pool, user);
      expect(rows).toHaveLength(4);
      expect(rows.every((r) => r.estimated && r.completion_tokens > 0 && r.completion_tokens < 20)).toBe(true);
      expect((await runtime.engine.balance(user)).reserved).toBe(0);
      console.info(`[reliability] graceful-shutdown (drain timeout 300 ms): 4 × 3 s streams cut, settled as estimated, shutdown ${ms} ms`);
    } finally {
      fake.options.chunkDelayMs = 40;
      await runtime.engine.close();
      await flushPrefix(testRedis);
      testRedis.disconnect();
    }
  }, 30_000);
});
