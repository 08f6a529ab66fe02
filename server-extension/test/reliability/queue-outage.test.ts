/**
 * Issue 16, the failure side of billing: nothing waiting for Postgres is dropped. Real Postgres behind a TCP
 * proxy the test cuts (every connection destroyed, new ones refused), the Postgres store (Postgres is then the
 * only durable store, so what cannot be written waits in the process's RetryQueue):
 * - webhook events: the in-memory buffer used to drop events when full or when a write failed;
 * - the ledger group commit: a batch failing on an outage used to be retried row by row (one connect per row);
 * - the LiteLLM webhook: a settlement no store took is queued (never dropped) and lands after the outage.
 */
import { PassThrough } from 'node:stream';
import express from 'express';
import { createServer, type Server } from 'node:http';
import { loadConfig } from '../../src/core/config';
import { createEngine, type EngineRuntime } from '../../src/core/create-engine';
import { openDatabase, type Database } from '../../src/core/db';
import { createLogger } from '../../src/core/logger';
import { LedgerWriter } from '../../src/core/ledger';
import { OutboxWriter, WebhookEndpoints } from '../../src/core/webhooks';
import { createLiteLLMWebhookRouter } from '../../src/adapters/litellm-webhook';
import { createMetrics, watchQueues } from '../../src/adapters/metrics';
import type { Settlement } from '../../src/core/quota-store';
import { createTestDb, TEST_DATABASE_URL, type TestDb } from '../helpers/infra';
import { startFaultProxy, sleep, type FaultProxy } from './faults';

const ADMIN = { id: 'admin-1', email: 'admin@example.com' };
const SECRET = 'queue-outage-webhook-secret-0123456789';
let testDb: TestDb;
let fault: FaultProxy;
let viaProxy: Database;
let rt: EngineRuntime;
let logs = '';
let server: Server;
let url: string;

beforeAll(async () => {
  const target = new URL(TEST_DATABASE_URL);
  [testDb, fault] = await Promise.all([createTestDb(), startFaultProxy({ host: target.hostname, port: Number(target.port || 5432) })]);
  const u = new URL(TEST_DATABASE_URL);
  u.port = String(fault.port);
  viaProxy = await openDatabase({ databaseUrl: u.toString(), schema: testDb.schema, max: 4, connectTimeoutMs: 500 });
  const sink = new PassThrough();
  sink.on('data', (d: Buffer) => (logs += d.toString()));
  const logger = createLogger({ level: 'info', stream: sink });
  const config = loadConfig({ DATABASE_URL: u.toString(), SOLARIS_METERING_SOURCE: 'litellm', SOLARIS_LITELLM_WEBHOOK_SECRET: SECRET });
  rt = await createEngine({ config, db: viaProxy, redis: null, logger });
  const app = express();
  app.use(createLiteLLMWebhookRouter({ engine: rt.engine, config, logger }));
  server = createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  fault?.restore();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  await rt?.engine.close();
  await viaProxy?.close();
  await fault?.close();
  await testDb?.drop();
});
afterEach(() => fault.restore());

const settlement = (i: number): Settlement => ({
  requestId: `lw-${i}`,
  userId: 'lw-user',
  model: 'm',
  promptTokens: 10,
  completionTokens: 5,
  weightedTokens: 15,
  cost: 0,
  source: 'proxy',
  estimated: false,
  occurredAt: Date.now(),
});

it('webhook events: a write failing while Postgres is down waits and lands — none dropped, also beyond 10,000 waiting', async () => {
  const endpoints = new WebhookEndpoints(rt.engine);
  const ep = await endpoints.create({ url: 'http://127.0.0.1:9/hook', events: ['threshold.crossed'], name: 'q' }, ADMIN);
  await endpoints.active(); // cached: the cut below hits the INSERT, not the endpoint list
  const outbox = new OutboxWriter(viaProxy, endpoints, createLogger({ level: 'error', stream: new PassThrough() }), { maxBatch: 500, maxWaitMs: 5, retryBaseMs: 50 });
  fault.cut();
  const n = 10_500;
  for (let i = 0; i < n; i++) outbox.enqueue({ type: 'threshold.crossed', key: `q:${i}`, data: { i } });
  await sleep(1_000);
  expect(outbox.stats().waiting).toBe(n);
  fault.restore();
  await outbox.flush(20_000);
  const { rows } = await testDb.pool.query(`SELECT count(*)::int AS n FROM webhook_outbox WHERE endpoint_id = $1`, [ep.id]);
  expect(rows[0].n).toBe(n);
  await outbox.close();
}, 40_000);

it('ledger group commit: a batch failing on an outage fails at once, not row by row', async () => {
  const writer = new LedgerWriter(viaProxy.pool, 'UTC');
  fault.cut();
  const before = fault.connections;
  const results = await Promise.allSettled(Array.from({ length: 50 }, (_, i) => writer.write(settlement(i))));
  expect(results.every((r) => r.status === 'rejected')).toBe(true);
  // One batch → one failed connect (the pool may try a second connection for the concurrent flush), never 50.
  expect(fault.connections - before).toBeLessThanOrEqual(3);
});

it('LiteLLM webhook: an event no store can record now is queued, answered as such, and lands once after the outage', async () => {
  fault.cut();
  const event = { id: 'litellm-queued-1', status: 'success', end_user: 'wh-user', model_group: 'gpt-4o', prompt_tokens: 7, completion_tokens: 3 };
  // The user id is not an email: no lookup, so the event is complete without Postgres.
  const res = await fetch(`${url}/solaris/litellm/usage`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${SECRET}` }, body: JSON.stringify([event]) });
  const body = (await res.json()) as { queued?: number };
  expect(res.status).toBe(200);
  expect(body.queued).toBe(1);
  await sleep(1_500);
  expect(rt.engine.settlements.stats().waiting).toBe(1);
  // The metric operators scrape says what waits and for how long.
  const metrics = createMetrics({ defaultMetrics: false });
  watchQueues(metrics, rt.engine);
  const text = await metrics.registry.metrics();
  expect(text).toMatch(/solaris_queue_waiting\{queue="settlements"\} 1/);
  expect(Number(/solaris_queue_oldest_seconds\{queue="settlements"\} ([\d.]+)/.exec(text)?.[1])).toBeGreaterThan(1);
  fault.restore();
  await rt.engine.settlements.drain(15_000);
  const { rows } = await testDb.pool.query(`SELECT count(*)::int AS n, sum(total_tokens)::int AS t FROM ledger WHERE request_id = 'litellm-queued-1'`);
  expect(rows[0]).toEqual({ n: 1, t: 10 });
  expect(logs).toMatch(/settlements queue: write failed; waiting to retry/);
}, 30_000);
