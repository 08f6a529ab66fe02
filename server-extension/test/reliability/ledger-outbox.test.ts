/**
 * The one outbox of ledger rows (the users' streams, core/settle-outbox.ts) as RedisQuotaStore.settle uses it
 * while Postgres is down (SOLARIS_SETTLE_ACK=ledger), against the real Postgres (behind a TCP proxy we cut to
 * simulate an outage) and the real Redis (own key prefix). Rows of the former global ledger outbox move over.
 */
import { openDatabase, type Database } from '../../src/core/db';
import { isPostgresUnavailable } from '../../src/core/store-errors';
import { LEGACY_OUTBOX_STREAM } from '../../src/core/outbox-rows';
import { SettleOutbox } from '../../src/core/settle-outbox';
import { RedisQuotaStore } from '../../src/core/redis-quota-store';
import type { Settlement } from '../../src/core/quota-store';
import { createTestDb, createTestRedis, flushPrefix, TEST_DATABASE_URL, type TestDb } from '../helpers/infra';
import { startFaultProxy, type FaultProxy } from './faults';

const TZ = 'America/Sao_Paulo';
let testDb: TestDb;
let fault: FaultProxy;
let viaProxy: Database; // the same schema, reached through the cuttable TCP proxy
const redis = createTestRedis();

beforeAll(async () => {
  testDb = await createTestDb();
  const pgUrl = new URL(TEST_DATABASE_URL);
  fault = await startFaultProxy({ host: pgUrl.hostname, port: Number(pgUrl.port || 5432) });
  viaProxy = await openDatabase({ databaseUrl: viaProxyUrl(), schema: testDb.schema, max: 4 });
});
function viaProxyUrl(): string {
  const u = new URL(TEST_DATABASE_URL);
  u.port = String(fault.port);
  return u.toString();
}
afterAll(async () => {
  await viaProxy?.close();
  await fault?.close();
  await flushPrefix(redis);
  redis.disconnect();
  await testDb?.drop();
});
afterEach(() => fault.restore());

let seq = 0;
const settlement = (userId: string, extra: Partial<Settlement> = {}): Settlement => ({
  requestId: `ob-${Date.now()}-${seq++}`,
  userId,
  model: 'fake-model',
  promptTokens: 10,
  completionTokens: 5,
  weightedTokens: 15,
  cost: 0,
  source: 'proxy',
  estimated: false,
  occurredAt: Date.now(),
  ...extra,
});

async function ledgerOf(userId: string) {
  const { rows } = await testDb.pool.query<{ request_id: string; weighted_tokens: number }>(
    'SELECT request_id, weighted_tokens FROM ledger WHERE user_id = $1 ORDER BY request_id',
    [userId],
  );
  return rows;
}

// Not started: the tests drive it (flushAll); the store still appends to the streams and the rebuild flushes them.
const outbox = (_name: string, pool = viaProxy.pool) => new SettleOutbox({ redis, pool, timezone: TZ });

describe('isPostgresUnavailable', () => {
  it('connection failures yes, bad rows / bugs no', () => {
    for (const e of [{ code: 'ECONNREFUSED' }, { code: '08006' }, { code: '57P01' }, { code: '53300' }, new Error('Connection terminated unexpectedly')]) {
      expect(isPostgresUnavailable(e)).toBe(true);
    }
    for (const e of [{ code: '23505' }, { code: '22P02' }, new Error('boom'), null, 'x']) expect(isPostgresUnavailable(e)).toBe(false);
  });
});

describe('upgrade from the former global ledger outbox', () => {
  it('rows left in sq:ledger-outbox move to their users\' streams and reach the ledger once', async () => {
    const a = settlement('u-legacy', { weightedTokens: 11 });
    await redis.xadd(LEGACY_OUTBOX_STREAM, '*', 'u', a.userId, 's', JSON.stringify(a));
    await redis.xadd(LEGACY_OUTBOX_STREAM, '*', 'u', a.userId, 's', JSON.stringify(a)); // buffered twice (a retry)
    const ob = outbox('legacy', testDb.pool);
    expect(await ob.moveLegacyRows()).toBe(2);
    expect(await redis.xlen(LEGACY_OUTBOX_STREAM)).toBe(0);
    await ob.flushAll();
    expect(await ledgerOf('u-legacy')).toEqual([{ request_id: a.requestId, weighted_tokens: 11 }]);
  });
});

describe('RedisQuotaStore.settle while Postgres is down', () => {
  it('buffers, moves the counter once (retries too), the rebuild and the drainer write the row once', async () => {
    const ob = outbox('store');
    const store = new RedisQuotaStore({ redis, pool: viaProxy.pool, timezone: TZ, reservationTtlMs: 60_000, maxInflight: 10, settleOutbox: ob });
    const user = 'u-store';
    const now = Date.now();
    await store.reserve({ userId: user, requestId: 'warm', estimate: 1 }, now); // counter in Redis
    await store.release('warm', user);
    const s = settlement(user, { requestId: 'buffered-1', weightedTokens: 40 });
    await store.reserve({ userId: user, requestId: s.requestId, estimate: 50 }, now);
    fault.cut();
    const r1 = await store.settle(s, now);
    expect(r1).toMatchObject({ buffered: true, duplicate: false, state: { used: 40, reserved: 0 } });
    const r2 = await store.settle(s, now); // the proxy's retry
    expect(r2).toMatchObject({ buffered: true, duplicate: true, state: { used: 40 } });
    // Reserve keeps deciding from Redis while Postgres is down.
    expect((await store.reserve({ userId: user, requestId: 'during', estimate: 5 }, now)).outcome).toBe('reserved');
    await store.release('during', user);
    expect(await ledgerOf(user)).toHaveLength(0);
    fault.restore();
    // The counter is lost (e.g. FLUSH) before the drainer ran: the rebuild writes the buffered row first.
    await store.invalidate(user);
    expect((await store.state(user, Date.now())).used).toBe(40);
    expect(await ledgerOf(user)).toEqual([{ request_id: 'buffered-1', weighted_tokens: 40 }]);
    expect(await ob.flushAll()).toBe(0); // the rebuild wrote it; the retry appended nothing (settled marker)
    expect(await ledgerOf(user)).toHaveLength(1);
    expect((await store.state(user, Date.now())).used).toBe(40);
    await store.close();
  });

  it('cold counter + Postgres down: settle answers store_unavailable but the row is safe in the outbox', async () => {
    const ob = outbox('store-cold');
    const store = new RedisQuotaStore({ redis, pool: viaProxy.pool, timezone: TZ, reservationTtlMs: 60_000, maxInflight: 10, settleOutbox: ob });
    fault.cut();
    const s = settlement('u-cold', { weightedTokens: 7 });
    await expect(store.settle(s, Date.now())).rejects.toMatchObject({ code: 'store_unavailable' });
    await expect(store.reserve({ userId: 'u-cold', requestId: 'x', estimate: 1 }, Date.now())).rejects.toBeTruthy();
    fault.restore();
    expect((await store.state('u-cold', Date.now())).used).toBe(7);
    await ob.flushAll();
    expect(await ledgerOf('u-cold')).toHaveLength(1);
    await store.close();
  });

  it('Postgres vanished without a reset (connects hang): the connect timeout hands the settlement to the outbox', async () => {
    const slowDb = await openDatabase({ databaseUrl: viaProxyUrl(), schema: testDb.schema, max: 2, connectTimeoutMs: 300 });
    const ob = outbox('blackhole', slowDb.pool);
    const store = new RedisQuotaStore({ redis, pool: slowDb.pool, timezone: TZ, reservationTtlMs: 60_000, maxInflight: 10, settleOutbox: ob });
    const user = 'u-blackhole';
    await store.reserve({ userId: user, requestId: 'warm', estimate: 1 }, Date.now());
    await store.release('warm', user);
    fault.cut('blackhole');
    const t0 = Date.now();
    const r = await store.settle(settlement(user, { weightedTokens: 9 }), Date.now());
    expect(r).toMatchObject({ buffered: true, state: { used: 9 } });
    expect(Date.now() - t0).toBeLessThan(3_000);
    fault.restore();
    await ob.flushAll();
    expect(await ledgerOf(user)).toHaveLength(1);
    await store.close();
    await slowDb.close();
  });

  it('without an outbox the Redis store fails the settlement like before', async () => {
    const store = new RedisQuotaStore({ redis, pool: viaProxy.pool, timezone: TZ, reservationTtlMs: 60_000, maxInflight: 10 });
    fault.cut();
    await expect(store.settle(settlement('u-none'), Date.now())).rejects.toSatisfy(isPostgresUnavailable);
    fault.restore();
    await store.close();
  });
});
