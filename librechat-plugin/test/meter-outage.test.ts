/**
 * The LibreChat Transaction meter during a Postgres outage longer than its old retry schedule (it used to give
 * up after ~52 s of retries held in memory and drop the spend). Real engine (Postgres store) on the real
 * Postgres behind a TCP proxy the test cuts; the meter retries each spend with the one retry queue, as the
 * preload does (here straight to engine.settle, so the meter's own queue is what waits), and the spend is charged
 * once when Postgres is back.
 */
import { loadConfig } from '../../server-extension/src/core/config';
import { createEngine, type EngineRuntime } from '../../server-extension/src/core/create-engine';
import { openDatabase, type Database } from '../../server-extension/src/core/db';
import { createTestDb, TEST_DATABASE_URL, type TestDb } from '../../server-extension/test/helpers/infra';
import { startFaultProxy, sleep, type FaultProxy } from '../../server-extension/test/reliability/faults';
import { TransactionMeter } from '../src/lib/transaction-meter';

let testDb: TestDb;
let fault: FaultProxy;
let viaProxy: Database;
let rt: EngineRuntime;

beforeAll(async () => {
  const target = new URL(TEST_DATABASE_URL);
  [testDb, fault] = await Promise.all([createTestDb(), startFaultProxy({ host: target.hostname, port: Number(target.port || 5432) })]);
  const u = new URL(TEST_DATABASE_URL);
  u.port = String(fault.port);
  viaProxy = await openDatabase({ databaseUrl: u.toString(), schema: testDb.schema, max: 4, connectTimeoutMs: 500 });
  rt = await createEngine({ config: loadConfig({ DATABASE_URL: u.toString(), SOLARIS_METERING_SOURCE: 'librechat' }), db: viaProxy, redis: null });
});
afterAll(async () => {
  fault?.restore();
  await rt?.engine.close();
  await viaProxy?.close();
  await fault?.close();
  await testDb?.drop();
});

it('a spend recorded while Postgres is down waits past the old retry schedule and is charged once after', async () => {
  const engine = rt.engine;
  const settled: string[] = [];
  const meter = new TransactionMeter({
    coalesceMs: 10,
    // The old meter's schedule, shortened: it gave up after these (the new one has no end to its retries).
    ...({ retryDelaysMs: [20, 20] } as object),
    retryBaseMs: 20,
    // engine.settle, not the preload's settleQueued: the meter's own hand-off must not give up either.
    settler: async () => (req) => engine.settle(req),
    onSettled: (s) => settled.push(s.requestId),
  });
  const user = 'c'.repeat(24);
  fault.cut();
  meter.accept([
    { _id: 'd'.repeat(24), user, tokenType: 'prompt', rawAmount: -40, messageId: 'msg-1', conversationId: 'conv-1', model: 'gpt-4o', context: 'message', createdAt: new Date() },
    { _id: 'e'.repeat(24), user, tokenType: 'completion', rawAmount: -9, messageId: 'msg-1', conversationId: 'conv-1', model: 'gpt-4o', context: 'message', createdAt: new Date() },
  ]);
  await sleep(2_000);
  expect(settled).toEqual([]);
  fault.restore();
  await meter.drain();
  expect(settled).toEqual([`lc:${'d'.repeat(24)}`]);
  const { rows } = await testDb.pool.query(`SELECT count(*)::int AS n, sum(prompt_tokens)::int AS p, sum(completion_tokens)::int AS c FROM ledger WHERE user_id = $1`, [user]);
  expect(rows[0]).toEqual({ n: 1, p: 40, c: 9 });
}, 30_000);

it("a turn's gate hold is picked once and freed by its settlement, retries included; a spend refused for good frees it on its own", async () => {
  const engine = rt.engine;
  const user = 'f'.repeat(24);
  await engine.reserve({ userId: user, requestId: 'lcgate:turn-1', estimate: 500 });
  await engine.reserve({ userId: user, requestId: 'lcgate:turn-2', estimate: 300 });
  const picked: string[] = [];
  const holds = ['lcgate:turn-1', 'lcgate:turn-2'];
  const released: string[] = [];
  const meter = new TransactionMeter({
    coalesceMs: 10,
    retryBaseMs: 20,
    settler: async () => (req) => engine.settle(req),
    holdOf: (s) => {
      picked.push(s.requestId);
      return holds.shift() ?? null;
    },
    releaseHold: (userId, holdId) => {
      released.push(holdId);
      void engine.release(holdId, userId);
    },
  });
  const doc = (id: string, extra: object) => ({ _id: id, user, tokenType: 'prompt', rawAmount: -40, conversationId: 'conv-h', model: 'gpt-4o', context: 'message', createdAt: new Date(), ...extra });
  // Postgres down: the settlement retries; the hold it ends is picked once, before the first attempt.
  fault.cut();
  meter.accept([doc('1'.repeat(24), { messageId: 'msg-h1' })]);
  await sleep(800);
  fault.restore();
  await meter.drain();
  expect(picked).toEqual([`lc:${'1'.repeat(24)}`]);
  expect(await engine.balance(user)).toMatchObject({ used: 40, reserved: 300 });
  // Refused for good (a NUL in the message id is invalid input): no charge, and the hold does not wait for its expiry.
  meter.accept([doc('2'.repeat(24), { messageId: 'msg\u0000h2' })]);
  await meter.drain();
  expect(released).toEqual(['lcgate:turn-2']);
  await vi.waitFor(async () => expect(await engine.balance(user)).toMatchObject({ used: 40, reserved: 0 }));
}, 30_000);
