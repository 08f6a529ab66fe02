/**
 * The ledger outbox itself (core/ledger-outbox.ts) and its use by RedisQuotaStore.settle, against the real
 * Postgres (behind a TCP proxy we cut to simulate an outage) and the real Redis (own key prefix).
 */
import { openDatabase, type Database } from '../../src/core/db';
import { LedgerOutbox, OUTBOX_DEAD_STREAM, OUTBOX_STREAM, isPostgresUnavailable } from '../../src/core/ledger-outbox';
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

const outbox = (consumer: string, extra: Partial<ConstructorParameters<typeof LedgerOutbox>[0]> = {}) =>
  new LedgerOutbox({ redis, pool: viaProxy.pool, timezone: TZ, consumer, ...extra });

describe('isPostgresUnavailable', () => {
  it('connection failures yes, bad rows / bugs no', () => {
    for (const e of [{ code: 'ECONNREFUSED' }, { code: '08006' }, { code: '57P01' }, { code: '53300' }, new Error('Connection terminated unexpectedly')]) {
      expect(isPostgresUnavailable(e)).toBe(true);
    }
    for (const e of [{ code: '23505' }, { code: '22P02' }, new Error('boom'), null, 'x']) expect(isPostgresUnavailable(e)).toBe(false);
  });
});

describe('LedgerOutbox', () => {
  it('drains appended rows into the ledger once (a replayed entry is no second row), then the stream is empty', async () => {
    const ob = outbox('c1');
    const a = settlement('u-drain');
    const b = settlement('u-drain');
    await ob.append(a);
    await ob.append(b);
    await ob.append(a); // a retry that buffered the same settlement twice
    expect(await ob.backlog()).toBe(3);
    expect(await ob.drainOnce()).toBe(3);
    expect((await ledgerOf('u-drain')).map((r) => r.request_id)).toEqual([a.requestId, b.requestId].sort());
    expect(await ob.backlog()).toBe(0);
    expect(await redis.xpending(OUTBOX_STREAM, 'ledger')).toEqual([0, null, null, null]);
  });

  it('Postgres down: a pass fails and keeps the entries; back up: they are written', async () => {
    const ob = outbox('c2');
    const s = settlement('u-down');
    await ob.append(s);
    fault.cut();
    await expect(ob.drainOnce()).rejects.toSatisfy(isPostgresUnavailable);
    expect(await ob.backlog()).toBe(1);
    fault.restore();
    expect(await ob.drainOnce()).toBe(1);
    expect(await ledgerOf('u-down')).toHaveLength(1);
    expect(await ob.backlog()).toBe(0);
  });

  it("a dead consumer's pending entries are taken over (XAUTOCLAIM) by another replica", async () => {
    const dead = outbox('dead-replica');
    const s = settlement('u-claim');
    await dead.append(s);
    fault.cut();
    await expect(dead.drainOnce()).rejects.toBeTruthy(); // read (now pending to it), never acknowledged
    fault.restore();
    const pending = (await redis.xpending(OUTBOX_STREAM, 'ledger', '-', '+', 10)) as Array<[string, string]>;
    expect(pending.map((p) => p[1])).toContain('dead-replica');
    const alive = outbox('alive-replica', { claimIdleMs: 50 });
    await new Promise((r) => setTimeout(r, 80));
    expect(await alive.drainOnce()).toBe(1);
    expect(await ledgerOf('u-claim')).toHaveLength(1);
    expect(await alive.backlog()).toBe(0);
  });

  it('a row Postgres refuses for good goes to the dead stream and does not block the others', async () => {
    const ob = outbox('c3');
    const good = settlement('u-poison');
    await ob.append(settlement('u-poison', { source: 'not-a-source' as Settlement['source'], promptTokens: -1 }));
    await redis.xadd(OUTBOX_STREAM, '*', 'u', 'u-poison', 's', '{not json');
    await ob.append(good);
    expect(await ob.drainOnce()).toBe(1);
    expect((await ledgerOf('u-poison')).map((r) => r.request_id)).toEqual([good.requestId]);
    expect(await redis.xlen(OUTBOX_DEAD_STREAM)).toBe(2);
    expect(await ob.backlog()).toBe(0);
  });

  it('consumers of gone processes (nothing pending, idle) are pruned from the group', async () => {
    const gone = outbox('gone-process');
    await gone.append(settlement('u-prune'));
    expect(await gone.drainOnce()).toBe(1); // registers the consumer, leaves nothing pending
    await new Promise((r) => setTimeout(r, 60));
    const alive = outbox('alive-pruner', { pruneIdleMs: 50 });
    expect(await alive.pruneConsumers()).toBeGreaterThanOrEqual(1);
    const names = ((await redis.xinfo('CONSUMERS', OUTBOX_STREAM, 'ledger')) as Array<Array<string | number>>).map((r) => r[1]);
    expect(names).not.toContain('gone-process');
  });

  it('start() drains by itself; stop() ends the polling', async () => {
    const ob = outbox('c4', { intervalMs: 30 });
    ob.start();
    await ob.append(settlement('u-auto'));
    await vi.waitFor(async () => expect(await ledgerOf('u-auto')).toHaveLength(1), { timeout: 3_000, interval: 30 });
    await ob.stop();
  });
});

describe('RedisQuotaStore.settle while Postgres is down', () => {
  it('buffers, moves the counter once (retries too), the rebuild and the drainer write the row once', async () => {
    const ob = outbox('store');
    const store = new RedisQuotaStore({ redis, pool: viaProxy.pool, timezone: TZ, reservationTtlMs: 60_000, maxInflight: 10, outbox: ob });
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
    expect(await ob.drainOnce()).toBe(2); // both entries acknowledged, no second row
    expect(await ledgerOf(user)).toHaveLength(1);
    expect((await store.state(user, Date.now())).used).toBe(40);
    await store.close();
  });

  it('cold counter + Postgres down: settle answers store_unavailable but the row is safe in the outbox', async () => {
    const ob = outbox('store-cold');
    const store = new RedisQuotaStore({ redis, pool: viaProxy.pool, timezone: TZ, reservationTtlMs: 60_000, maxInflight: 10, outbox: ob });
    fault.cut();
    const s = settlement('u-cold', { weightedTokens: 7 });
    await expect(store.settle(s, Date.now())).rejects.toMatchObject({ code: 'store_unavailable' });
    await expect(store.reserve({ userId: 'u-cold', requestId: 'x', estimate: 1 }, Date.now())).rejects.toBeTruthy();
    fault.restore();
    expect((await store.state('u-cold', Date.now())).used).toBe(7);
    await ob.drainOnce();
    expect(await ledgerOf('u-cold')).toHaveLength(1);
    await store.close();
  });

  it('Postgres vanished without a reset (connects hang): the connect timeout hands the settlement to the outbox', async () => {
    const slowDb = await openDatabase({ databaseUrl: viaProxyUrl(), schema: testDb.schema, max: 2, connectTimeoutMs: 300 });
    const ob = new LedgerOutbox({ redis, pool: slowDb.pool, timezone: TZ, consumer: 'blackhole' });
    const store = new RedisQuotaStore({ redis, pool: slowDb.pool, timezone: TZ, reservationTtlMs: 60_000, maxInflight: 10, outbox: ob });
    const user = 'u-blackhole';
    await store.reserve({ userId: user, requestId: 'warm', estimate: 1 }, Date.now());
    await store.release('warm', user);
    fault.cut('blackhole');
    const t0 = Date.now();
    const r = await store.settle(settlement(user, { weightedTokens: 9 }), Date.now());
    expect(r).toMatchObject({ buffered: true, state: { used: 9 } });
    expect(Date.now() - t0).toBeLessThan(3_000);
    fault.restore();
    await ob.drainOnce();
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
