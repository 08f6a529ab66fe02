/**
 * Postgres store (no Redis: Postgres is the only durable store) during a Postgres outage: the settlement cannot
 * be recorded now. The proxy still delivers the answer it streamed (after its bounded wait); the settlement
 * waits in the engine's queue (metric + log line), retried with back-off, and lands once Postgres is back —
 * never dropped (issue 16: it used to be dropped after 3 tries).
 */
import { createServer, type Server } from 'node:http';
import { PassThrough } from 'node:stream';
import OpenAI from 'openai';
import { createMeteringProxy, type MeteringProxy } from '../../src/adapters/proxy';
import { loadConfig } from '../../src/core/config';
import { createEngine, type EngineRuntime } from '../../src/core/create-engine';
import { openDatabase, type Database } from '../../src/core/db';
import { createLogger } from '../../src/core/logger';
import { startFakeUpstream, type FakeUpstream } from '../../src/dev/fake-upstream';
import { createTestDb, TEST_DATABASE_URL, type TestDb } from '../helpers/infra';
import { startFaultProxy, type FaultProxy } from './faults';
import { PROXY_KEY } from './cluster';

let testDb: TestDb;
let fault: FaultProxy;
let viaProxy: Database;
let fake: FakeUpstream;
let rt: EngineRuntime;
let proxy: MeteringProxy;
let server: Server;
let url: string;
let logs = '';

beforeAll(async () => {
  const target = new URL(TEST_DATABASE_URL);
  [testDb, fake, fault] = await Promise.all([createTestDb(), startFakeUpstream({ chunks: 20, chunkDelayMs: 20 }), startFaultProxy({ host: target.hostname, port: Number(target.port || 5432) })]);
  const u = new URL(TEST_DATABASE_URL);
  u.port = String(fault.port);
  viaProxy = await openDatabase({ databaseUrl: u.toString(), schema: testDb.schema, max: 4, connectTimeoutMs: 500 });
  const config = loadConfig({ DATABASE_URL: u.toString(), SOLARIS_PROXY_KEY: PROXY_KEY });
  const sink = new PassThrough();
  sink.on('data', (d: Buffer) => (logs += d.toString()));
  const logger = createLogger({ level: 'info', stream: sink });
  rt = await createEngine({ config, db: viaProxy, redis: null, logger });
  proxy = createMeteringProxy({ engine: rt.engine, config, upstreamUrl: fake.url, logger, touchUsers: false });
  server = createServer((req, res) => proxy(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  fault.restore();
  server?.closeAllConnections();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  await proxy?.close();
  await rt?.engine.close();
  await viaProxy?.close();
  await fault?.close();
  await fake?.close();
  await testDb?.drop();
});

it('Postgres store, outage mid-stream: the client still gets the whole answer; the settlement waits and lands once, after the outage', async () => {
  const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: PROXY_KEY, maxRetries: 0, defaultHeaders: { 'X-Solaris-User-Id': 'pg-store-user' } });
  const stream = await client.chat.completions.create({ model: 'fake-model', messages: [{ role: 'user', content: 'oi' }], stream: true });
  let chunks = 0;
  const t0 = Date.now();
  for await (const c of stream) {
    if (c.choices[0]?.delta?.content && ++chunks === 2) fault.cut(); // reserved already; settlement will fail
  }
  expect(chunks).toBe(20);
  expect(Date.now() - t0).toBeLessThan(5_000); // bounded wait for the settlement, then the answer ends
  // Longer than the old 3 tries (250 + 500 ms): the settlement is still waiting, visible in the queue.
  await new Promise((r) => setTimeout(r, 2_500));
  expect(rt.engine.settlements.stats().waiting).toBe(1);
  expect(rt.engine.settlements.stats().oldestMs).toBeGreaterThan(2_000);
  expect(logs).toMatch(/settlements queue: write failed; waiting to retry/);
  expect(logs).not.toMatch(/proxy settlement (failed|refused)/);
  const restoredAt = Date.now();
  fault.restore();
  await proxy.drain();
  const landedMs = Date.now() - restoredAt;
  const { rows } = await testDb.pool.query(`SELECT count(*)::int AS n, sum(completion_tokens)::int AS c FROM ledger WHERE user_id = 'pg-store-user'`);
  expect(rows[0]).toEqual({ n: 1, c: 20 });
  expect(rt.engine.settlements.stats().waiting).toBe(0);
  await vi.waitFor(() => expect(logs).toMatch(/settlements queue: caught up/));
  console.info(`[reliability] postgres-store outage: settlement waited ${restoredAt - t0} ms, landed ${landedMs} ms after Postgres returned`);
}, 30_000);
