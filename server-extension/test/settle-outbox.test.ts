/**
 * SOLARIS_SETTLE_ACK=outbox (docs/architecture.md, "Settlement acknowledged from the Redis outbox"), against a
 * real Redis with appendonly yes (own port) and the real Postgres: acknowledged rows reach the ledger exactly
 * once, a lost announce is found by the sweep, a rebuild never misses an acknowledged row, a request id that
 * belongs to someone else never leaves a counter above the ledger, and a Redis without AOF is refused.
 */
import type { LedgerEntryDTO } from '@solaris/wire';
import { loadConfig, ConfigError } from '../src/core/config';
import { createEngine } from '../src/core/create-engine';
import { userKeys } from '../src/core/redis-quota-store';
import type { RedisQuotaStore } from '../src/core/redis-quota-store';
import { WAKE_LIST, type SettleOutbox } from '../src/core/settle-outbox';
import { createTestEngine, type TestEngine } from './helpers/engine';
import { startAofRedis, type AofRedis } from '../src/dev/redis-server';
import { createTestDb, createTestRedis, flushPrefix, TEST_DATABASE_URL, until } from './helpers/infra';
import { openDatabase } from '../src/core/db';
import { startFaultProxy } from './reliability/faults';

const ADMIN = { id: 'admin-1' };

describe('settlements acknowledged from the Redis outbox', () => {
  let aof: AofRedis;
  let t: TestEngine;
  let n = 0;
  const uid = () => `outbox-user-${++n}`;
  const store = () => t.engine.store as RedisQuotaStore;
  const settle = (userId: string, requestId: string, tokens: number, occurredAt?: number) =>
    t.engine.settle({ userId, requestId, model: 'm', promptTokens: tokens, completionTokens: 0, source: 'proxy', occurredAt });
  const ledger = async (userId: string) =>
    (await t.db.pool.query(`SELECT COALESCE(sum(weighted_tokens),0)::int AS s, count(*)::int AS n FROM ledger WHERE user_id = $1`, [userId]))
      .rows[0] as { s: number; n: number };
  const drainer = () => (store() as unknown as { opts: { settleOutbox: SettleOutbox } }).opts.settleOutbox;
  const streamLen = (userId: string) => t.testRedis!.xlen(userKeys(userId).outbox);

  beforeAll(async () => {
    aof = await startAofRedis();
    t = await createTestEngine({ store: 'redis', redisUrl: aof.url, realClock: true, env: { SOLARIS_SETTLE_ACK: 'outbox', SOLARIS_MAX_INFLIGHT: '1000' } });
    await t.engine.admin.upsertPlan({ id: 'mini', name: 'Mini', tokenLimit: 100_000, period: 'month' }, ADMIN);
  });
  afterAll(async () => {
    await t?.cleanup();
    await aof?.stop();
  });

  it('acknowledges without Postgres, then the drainer writes each row once and emits its ledger event', async () => {
    const u = uid();
    await t.engine.admin.assignPlan({ userId: u, planId: 'mini' }, ADMIN);
    const events: LedgerEntryDTO[] = [];
    const onLedger = (e: { userId: string; entry: LedgerEntryDTO }) => e.userId === u && events.push(e.entry);
    t.engine.events.on('ledger', onLedger);
    try {
      const r = await settle(u, 'ob-1', 120);
      expect(r.duplicate).toBe(false);
      expect(r.entry.id).toBe(''); // not in the ledger yet
      expect(r.balance.used).toBe(120); // counted at once
      for (let i = 0; i < 4; i++) expect((await settle(u, 'ob-1', 120)).duplicate).toBe(true);
      await settle(u, 'ob-2', 30);
      const rows = await until(() => ledger(u), (v) => v.n === 2);
      expect(rows).toEqual({ s: 150, n: 2 });
      expect(await until(() => streamLen(u), (v) => v === 0)).toBe(0);
      await until(async () => events.length, (v) => v === 2);
      expect(events.map((e) => e.requestId).sort()).toEqual(['ob-1', 'ob-2']);
      expect(events.every((e) => Number(e.id) > 0)).toBe(true); // real ledger ids now
      expect((await t.engine.balance(u)).used).toBe(150);
    } finally {
      t.engine.events.off('ledger', onLedger);
    }
  });

  it('write-behind: the settling process writes its own rows (no wake-up needed); stopped, it announces them instead', async () => {
    const u = uid();
    await t.engine.balance(u); // builds the counter (a rebuild reads the user's stream back: not what is measured)
    await t.testRedis!.del(WAKE_LIST);
    const streamReads = async () => Number(/cmdstat_xrange:calls=(\d+)/.exec(await t.testRedis!.info('commandstats'))?.[1] ?? 0);
    const readsBefore = await streamReads();
    // 60 settlements at once: group-committed from memory, entries deleted by id, nothing announced.
    await Promise.all(Array.from({ length: 60 }, (_, i) => settle(u, `wb-${i}`, 10)));
    expect(await until(() => ledger(u), (v) => v.n === 60)).toEqual({ s: 600, n: 60 });
    expect(await until(() => t.testRedis!.exists(userKeys(u).outbox), (v) => v === 0)).toBe(0);
    expect(await t.testRedis!.llen(WAKE_LIST)).toBe(0);
    expect(await streamReads()).toBe(readsBefore); // nobody had to read the stream back
    // A stopped drainer takes nothing from memory: the row stays in the stream and its user is announced.
    await drainer().stop();
    try {
      await settle(u, 'wb-stopped', 10);
      expect(await streamLen(u)).toBe(1);
      expect(await until(() => t.testRedis!.lrange(WAKE_LIST, 0, -1), (v) => v.includes(u))).toContain(u);
    } finally {
      drainer().start();
    }
    expect(await until(() => ledger(u), (v) => v.n === 61)).toEqual({ s: 610, n: 61 });
  });

  it('a lost announce (process died after its settle script) is found by the sweep', async () => {
    const u = uid();
    await settle(u, 'lost-1', 40);
    await until(() => ledger(u), (v) => v.n === 1);
    await drainer().stop(); // no drainer: nothing may pick the row up by chance
    try {
      await t.testRedis!.del(WAKE_LIST);
      // Append a row the way the script does, but announce nothing.
      const row = { requestId: 'lost-2', userId: u, model: 'm', promptTokens: 5, completionTokens: 0, weightedTokens: 5, cost: 0, source: 'proxy', estimated: false, occurredAt: Date.now() };
      await t.testRedis!.xadd(userKeys(u).outbox, '*', 'j', JSON.stringify(row));
      await new Promise((r) => setTimeout(r, 100));
      expect((await ledger(u)).n).toBe(1); // nobody knows about it yet
      expect(await drainer().sweepAndDrain()).toBeGreaterThanOrEqual(1); // what every sweep does (and every start)
      expect(await ledger(u)).toEqual({ s: 45, n: 2 });
    } finally {
      drainer().start();
    }
    // Drained streams are deleted, not left empty (a key per user forever, found by every sweep).
    expect(await until(() => t.testRedis!.exists(userKeys(u).outbox), (v) => v === 0)).toBe(0);
  });

  it('a counter rebuilt while rows wait in the outbox includes them, once', async () => {
    const u = uid();
    await t.engine.admin.assignPlan({ userId: u, planId: 'mini' }, ADMIN);
    // No drainer running: the rows stay in the outbox until the rebuild needs them.
    await drainer().stop();
    try {
      await settle(u, 'rb-1', 100);
      await settle(u, 'rb-2', 200);
      expect(await streamLen(u)).toBe(2);
      expect(await ledger(u)).toEqual({ s: 0, n: 0 });
      await t.testRedis!.del(userKeys(u).counter); // FLUSH of the counter (eviction, restart without the key, …)
      const b = await t.engine.balance(u);
      expect(b.used).toBe(300);
      expect(await ledger(u)).toEqual({ s: 300, n: 2 }); // the rebuild wrote them before summing
      expect(await streamLen(u)).toBe(0);
    } finally {
      await t.testRedis!.del(WAKE_LIST);
      drainer().start();
    }
    expect((await settle(u, 'rb-2', 200)).duplicate).toBe(true); // the replay after the rebuild moves nothing
    expect((await t.engine.balance(u)).used).toBe(300);
  });

  it('a settlement older than the replay window goes ledger first', async () => {
    const u = uid();
    const old = Date.now() - 11 * 60_000;
    const r = await settle(u, 'old-1', 70, old);
    expect(r.entry.id).not.toBe(''); // written to the ledger before the answer
    expect(await ledger(u)).toEqual({ s: 70, n: 1 });
    expect((await settle(u, 'old-1', 70, old)).duplicate).toBe(true);
    expect((await t.engine.balance(u)).used).toBe(70);
  });

  it("a request id already in another user's ledger never leaves this user's counter above the ledger", async () => {
    const owner = uid();
    const other = uid();
    await settle(owner, 'shared-id', 50);
    await until(() => ledger(owner), (v) => v.n === 1);
    await settle(other, 'shared-id', 80); // counted for `other` at once (its marker is per user)…
    // …the drainer finds the id taken by `owner` and drops `other`'s counter, rebuilt from the ledger.
    const b = await until(() => t.engine.balance(other), (v) => v.used === 0);
    expect(b.used).toBe(0);
    expect(await ledger(other)).toEqual({ s: 0, n: 0 });
    expect(await ledger(owner)).toEqual({ s: 50, n: 1 });
  });

  it('200 parallel reserve+settle for a limit that allows 100: exactly 100, counter = ledger after the drain', async () => {
    const u = uid();
    await t.engine.admin.upsertPlan({ id: 'tiny', name: 'Tiny', tokenLimit: 1000, period: 'month' }, ADMIN);
    await t.engine.admin.assignPlan({ userId: u, planId: 'tiny' }, ADMIN);
    const ok = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const r = await t.engine.reserve({ userId: u, requestId: `par-${i}`, estimate: 10 });
        if (!r.ok) return false;
        await settle(u, `par-${i}`, 10);
        return true;
      }),
    );
    expect(ok.filter(Boolean)).toHaveLength(100);
    expect(await until(() => ledger(u), (v) => v.n === 100)).toEqual({ s: 1000, n: 100 });
    expect((await t.engine.balance(u)).used).toBe(1000);
  });
});

describe('SOLARIS_SETTLE_ACK=outbox on a Redis without persistence', () => {
  it('refuses to start, naming the setting', async () => {
    const db = await createTestDb();
    const redis = createTestRedis(); // the shared test Redis runs with appendonly no
    try {
      const config = loadConfig({ DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test', SOLARIS_SETTLE_ACK: 'outbox' });
      const err = await createEngine({ config, db, redis, migrate: false }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ConfigError);
      expect(String((err as Error).message)).toMatch(/SOLARIS_SETTLE_ACK=outbox needs Redis with appendonly yes/);
    } finally {
      await flushPrefix(redis);
      redis.disconnect();
      await db.drop();
    }
  });
});

describe('outbox ack while Postgres is unreachable', () => {
  it('acknowledges and counts at once (a crossed threshold waits, no error); the rows reach the ledger once it is back', async () => {
    const aof = await startAofRedis();
    const db = await createTestDb();
    const target = new URL(TEST_DATABASE_URL);
    const fault = await startFaultProxy({ host: target.hostname, port: Number(target.port || 5432) });
    const via = new URL(db.childEnvUrl);
    via.port = String(fault.port);
    const viaDb = await openDatabase({ databaseUrl: via.toString(), max: 4 });
    const redis = createTestRedis(undefined, aof.url);
    const config = loadConfig({ DATABASE_URL: via.toString(), SOLARIS_SETTLE_ACK: 'outbox', SOLARIS_MAX_INFLIGHT: '100' });
    const rt = await createEngine({ config, db: viaDb, redis, migrate: false });
    const rows = async () =>
      (await db.pool.query(`SELECT count(*)::int AS n, COALESCE(sum(weighted_tokens), 0)::int AS s FROM ledger WHERE user_id = 'pg-down'`)).rows[0] as { n: number; s: number };
    const settle = (id: string, tokens: number) => rt.engine.settle({ userId: 'pg-down', requestId: id, model: 'm', promptTokens: tokens, completionTokens: 0, source: 'proxy' });
    try {
      await rt.engine.admin.upsertPlan({ id: 'p', name: 'P', tokenLimit: 1000, period: 'month', isDefault: true }, ADMIN);
      await settle('before', 100); // the counter exists (building it needs Postgres)
      await vi.waitFor(async () => expect((await rows()).n).toBe(1));
      fault.cut();
      for (const [i, tokens] of [250, 250, 250].entries()) {
        const r = await settle(`down-${i}`, tokens); // 850 / 1000 at the end: crosses 80 %
        expect(r.duplicate).toBe(false);
      }
      expect((await rt.engine.balance('pg-down')).used).toBe(850);
      expect(await rows()).toEqual({ n: 1, s: 100 }); // nothing reached Postgres
      // A user whose counter must be rebuilt meanwhile (it needs Postgres): the call fails, but the row is
      // recorded (ledger outbox) and charged once Postgres is back — never lost.
      await redis.del(userKeys('pg-down-cold').counter);
      await expect(rt.engine.settle({ userId: 'pg-down-cold', requestId: 'cold-1', model: 'm', promptTokens: 40, completionTokens: 0, source: 'proxy' })).rejects.toMatchObject({
        code: 'store_unavailable',
      });
      fault.restore();
      await vi.waitFor(async () => expect(await rows()).toEqual({ n: 4, s: 850 }), { timeout: 10_000 });
      await vi.waitFor(
        async () => expect((await db.pool.query(`SELECT count(*)::int AS n FROM ledger WHERE user_id = 'pg-down-cold'`)).rows[0].n).toBe(1),
        { timeout: 10_000 },
      );
      expect((await rt.engine.balance('pg-down-cold')).used).toBe(40);
      // The threshold missed during the outage fires with the next settlement.
      await settle('after', 10);
      const fired = (await db.pool.query(`SELECT threshold FROM threshold_notifications WHERE user_id = 'pg-down'`)).rows.map((r) => r.threshold);
      expect(fired).toEqual([80]);
    } finally {
      fault.restore();
      await rt.engine.close();
      await flushPrefix(redis);
      redis.disconnect();
      await viaDb.close();
      await fault.close();
      await db.drop();
      await aof.stop();
    }
  }, 30_000);
});

describe('rows left in the outbox streams under SOLARIS_SETTLE_ACK=ledger (switched back, or replicas mid-switch)', () => {
  let t: TestEngine;
  beforeAll(async () => {
    t = await createTestEngine({ store: 'redis', realClock: true });
  });
  afterAll(async () => t?.cleanup());
  const leftover = (userId: string, requestId: string, tokens: number) =>
    t.testRedis!.xadd(
      userKeys(userId).outbox,
      '*',
      'j',
      JSON.stringify({ requestId, userId, model: 'm', promptTokens: tokens, completionTokens: 0, weightedTokens: tokens, cost: 0, source: 'proxy', estimated: false, occurredAt: Date.now() }),
    );
  const sum = async (userId: string) =>
    (await t.db.pool.query(`SELECT count(*)::int AS n, COALESCE(sum(weighted_tokens), 0)::int AS s FROM ledger WHERE user_id = $1`, [userId])).rows[0];

  it('the sweep writes them to the ledger', async () => {
    await leftover('left-1', 'left-a', 30);
    await leftover('left-2', 'left-b', 40);
    const drainer = (t.engine.store as unknown as { opts: { settleOutbox: SettleOutbox } }).opts.settleOutbox;
    // The engine's own periodic sweep may take some of them first (same code path): the outcome is what counts.
    await drainer.sweepAndDrain();
    expect(await sum('left-1')).toEqual({ n: 1, s: 30 });
    expect(await sum('left-2')).toEqual({ n: 1, s: 40 });
    expect(await t.testRedis!.exists(userKeys('left-1').outbox)).toBe(0);
  });

  it('a counter rebuild writes them first, so the balance counts them', async () => {
    await t.engine.settle({ userId: 'left-3', requestId: 'left-c', model: 'm', promptTokens: 10, completionTokens: 0, source: 'proxy' });
    await leftover('left-3', 'left-d', 25);
    await t.testRedis!.del(userKeys('left-3').counter);
    expect((await t.engine.balance('left-3')).used).toBe(35);
    expect(await sum('left-3')).toEqual({ n: 2, s: 35 });
  });
});
