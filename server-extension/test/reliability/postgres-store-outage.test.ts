/**
 * Postgres store (no Redis, hence no outbox) during a Postgres outage: the settlement cannot be recorded.
 * The proxy still delivers the answer it streamed (after its bounded wait), retries the settlement and logs
 * the failure with the request id; nothing half-written reaches the ledger.
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
  rt = await createEngine({ config, db: viaProxy, redis: null });
  const sink = new PassThrough();
  sink.on('data', (d: Buffer) => (logs += d.toString()));
  proxy = createMeteringProxy({ engine: rt.engine, config, upstreamUrl: fake.url, logger: createLogger({ level: 'warn', stream: sink }), touchUsers: false });
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

it('Postgres store, outage mid-stream: the client still gets the whole answer; the failure is logged, nothing recorded', async () => {
  const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: PROXY_KEY, maxRetries: 0, defaultHeaders: { 'X-Solaris-User-Id': 'pg-store-user' } });
  const stream = await client.chat.completions.create({ model: 'fake-model', messages: [{ role: 'user', content: 'oi' }], stream: true });
  let chunks = 0;
  const t0 = Date.now();
  for await (const c of stream) {
    if (c.choices[0]?.delta?.content && ++chunks === 2) fault.cut(); // reserved already; settlement will fail
  }
  expect(chunks).toBe(20);
  expect(Date.now() - t0).toBeLessThan(5_000); // bounded wait for the settlement, then the answer ends
  await proxy.drain();
  expect(logs).toMatch(/proxy settlement failed/);
  fault.restore();
  const { rows } = await testDb.pool.query(`SELECT count(*)::int AS n FROM ledger WHERE user_id = 'pg-store-user'`);
  expect(rows[0].n).toBe(0);
});
