/**
 * F3: with SOLARIS_FAIL_MODE=closed, a Redis that stops answering must turn into 503s within a bounded time,
 * not requests that hang through ioredis's reconnect attempts (before: time to the 503 p50 5.2 s, max 14.3 s
 * over a 30 s outage). The standalone server as operators run it (bundled, a child process), Redis behind a TCP
 * proxy the test cuts: first "refuse" (Redis down: connections refused), then "blackhole" (connections accepted,
 * never answered: a host that vanished). Chats keep arriving during each outage; each one's time to its 503 is
 * measured from the request.
 */
import type { TestDb } from '../helpers/infra';
import { createTestDb } from '../helpers/infra';
import { startFakeUpstream, type FakeUpstream } from '../../src/dev/fake-upstream';
import { buildStandalone, chat, startReplica, type Replica } from './cluster';
import { sleep, startFaultProxy, startPrivateRedis, type FaultProxy, type PrivateRedis } from './faults';

let db: TestDb;
let redis: PrivateRedis;
let fake: FakeUpstream;
let fault: FaultProxy;
let replica: Replica;
let bundle: { file: string; remove(): void };

beforeAll(async () => {
  [db, redis, fake, bundle] = await Promise.all([createTestDb(), startPrivateRedis(), startFakeUpstream({ chunks: 5, chunkDelayMs: 1 }), buildStandalone('failclosed')]);
  fault = await startFaultProxy({ port: redis.port });
  replica = await startReplica(bundle.file, {
    DATABASE_URL: db.childEnvUrl,
    REDIS_URL: `redis://127.0.0.1:${fault.port}`,
    LITELLM_URL: fake.url,
    SOLARIS_FAIL_MODE: 'closed',
  });
}, 60_000);
afterAll(async () => {
  fault?.restore();
  await replica?.kill();
  await fault?.close();
  await fake?.close();
  await redis?.stop();
  bundle?.remove();
  await db?.drop();
});

const spec = { content: 'oi', maxTokens: 10 };
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length - 1) * p))]!;

/** Chats (4 at a time) for `ms`: the time each took and how it ended. */
async function loadFor(ms: number, tag: string): Promise<Array<{ ms: number; outcome: string }>> {
  const out: Array<{ ms: number; outcome: string }> = [];
  const end = Date.now() + ms;
  let n = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (Date.now() < end) {
        const t0 = performance.now();
        const r = await chat(replica.url, 0, 'fc-user', `${tag}-${n++}`, spec);
        out.push({ ms: performance.now() - t0, outcome: r.outcome });
        await sleep(20);
      }
    }),
  );
  return out;
}

it('Redis down or silent, fail closed: every chat gets its 503 within a bounded time; served again after', async () => {
  expect((await chat(replica.url, 0, 'fc-user', 'warm', spec)).outcome).toBe('completed');
  const figures: string[] = [];
  for (const mode of ['refuse', 'blackhole'] as const) {
    fault.cut(mode);
    const results = await loadFor(6_000, mode);
    fault.restore();
    const refused = results.filter((r) => r.outcome === 'unavailable');
    const times = refused.map((r) => r.ms);
    figures.push(`${mode}: ${refused.length} × 503, time to 503 p50 ${pct(times, 0.5).toFixed(0)} ms, p99 ${pct(times, 0.99).toFixed(0)} ms, max ${Math.max(...times).toFixed(0)} ms`);
    console.info(`[reliability] fail-closed latency, Redis cut 6 s (${figures.at(-1)})`);
    expect(results.filter((r) => r.outcome === 'completed' || r.outcome === 'failed')).toEqual([]);
    expect(refused.length).toBeGreaterThan(20);
    // Disconnected: commands fail at once; a command caught in flight by the cut waits at most
    // SOLARIS_REDIS_TIMEOUT_MS (1 s). Plus the request's own handling on a loaded 2-core box.
    expect(pct(times, 0.5)).toBeLessThan(400);
    expect(Math.max(...times)).toBeLessThan(1_500);
    // Served again once Redis answers.
    await vi.waitFor(async () => expect((await chat(replica.url, 0, 'fc-user', `${mode}-back-${Date.now()}`, spec)).outcome).toBe('completed'), { timeout: 10_000, interval: 200 });
  }
  console.info(`[reliability] fail-closed latency, Redis cut 6 s each: ${figures.join('; ')}`);
}, 90_000);
