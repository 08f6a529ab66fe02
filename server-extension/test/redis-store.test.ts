/**
 * Redis-only behaviour of RedisQuotaStore, against the real Redis and Postgres: the counter is a cache of
 * Postgres, so losing it (FLUSHALL, eviction, SCRIPT FLUSH, a crash between the ledger write and the Lua
 * step) must never lose or double-count a token. "FLUSHALL" here is `flushPrefix` (this file's keys only).
 */
import { Redis } from 'ioredis';
import { insertLedgerRows } from '../src/core/ledger';
import { userKeys } from '../src/core/redis-quota-store';
import type { Settlement } from '../src/core/quota-store';
import { createTestEngine, type TestEngine } from './helpers/engine';
import { flushPrefix, TEST_REDIS_URL } from './helpers/infra';

const ADMIN = { id: 'admin-1' };

/** Redis Cluster key slot: CRC16/XMODEM of the hash tag (or the whole key), mod 16384. */
function crc16(s: string): number {
  let crc = 0;
  for (const byte of Buffer.from(s)) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}
function keySlot(key: string): number {
  const open = key.indexOf('{');
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) return crc16(key.slice(open + 1, close)) % 16384;
  }
  return crc16(key) % 16384;
}

describe('RedisQuotaStore: Redis-specific guarantees', () => {
  let t: TestEngine;
  let n = 0;
  const uid = () => `redis-user-${++n}`;
  const settle = (userId: string, requestId: string, tokens: number) =>
    t.engine.settle({ userId, requestId, model: 'm', promptTokens: tokens, completionTokens: 0, source: 'proxy' });
  const ledgerSum = async (userId: string) =>
    (await t.db.pool.query(`SELECT COALESCE(sum(weighted_tokens),0)::int AS s, count(*)::int AS n FROM ledger WHERE user_id = $1`, [userId]))
      .rows[0] as { s: number; n: number };

  beforeAll(async () => {
    t = await createTestEngine({ store: 'redis', env: { SOLARIS_MAX_INFLIGHT: '1000' } });
    await t.engine.admin.upsertPlan({ id: 'mini', name: 'Mini', tokenLimit: 1000, period: 'month' }, ADMIN);
  });
  afterAll(async () => t?.cleanup());

  it('computes cluster slots like Redis does (known vectors)', () => {
    expect(crc16('123456789')).toBe(0x31c3);
    expect(keySlot('somekey')).toBe(11058);
    expect(keySlot('foo{hash_tag}')).toBe(keySlot('bar{hash_tag}'));
  });

  it('FLUSHALL mid-period: the next balance equals the one before (ledger + grants + resets + fired thresholds)', async () => {
    const u = uid();
    await t.engine.admin.assignPlan({ userId: u, planId: 'mini' }, ADMIN);
    await settle(u, 'before-reset', 700);
    t.clock.advance(1000);
    await t.engine.admin.reset({ userId: u, reason: 'suporte' }, ADMIN);
    t.clock.advance(1000);
    await t.engine.admin.grant({ userId: u, tokens: 500, reason: 'bônus' }, ADMIN);
    await t.engine.admin.grant({ userId: u, tokens: 250, expiresAt: new Date(t.clock() + 3_600_000).toISOString() }, ADMIN);
    await settle(u, 'after-reset-1', 900);
    await settle(u, 'after-reset-2', 500); // 1400 / 1750 = 80 %: the warning threshold fires
    const before = await t.engine.balance(u);
    expect(before).toMatchObject({ limit: 1000, granted: 750, used: 1400, reserved: 0, remaining: 350, state: 'warning' });
    expect((await t.engine.store.state(u, t.clock())).fired).toEqual([80]);

    expect(await flushPrefix(t.testRedis!)).toBeGreaterThan(0);
    expect(await t.testRedis!.exists(userKeys(u).counter)).toBe(0);

    expect(await t.engine.balance(u)).toEqual(before);
    expect((await t.engine.store.state(u, t.clock())).fired).toEqual([80]);
    // The rebuilt counter keeps working: the next settle moves it once, and 80 % does not fire again.
    const fired: number[] = [];
    const onThreshold = (e: { userId: string; threshold: number }) => e.userId === u && fired.push(e.threshold);
    t.engine.events.on('threshold', onThreshold);
    try {
      expect((await settle(u, 'after-flush', 10)).balance.used).toBe(1410);
    } finally {
      t.engine.events.off('threshold', onThreshold);
    }
    expect(fired).toEqual([]);
    t.clock.advance(-2000);
  });

  it('a rebuild racing 200 in-flight settlements counts each exactly once', async () => {
    for (let round = 0; round < 3; round++) {
      const u = uid();
      await t.engine.admin.setLimitOverride({ userId: u, limit: 10_000_000 }, ADMIN);
      const pending = Array.from({ length: 200 }, (_, i) => settle(u, `race-${round}-${i}`, 1 + (i % 7)));
      // Flush while they are in flight, several times, at different points of the burst.
      for (let f = 0; f < 4; f++) {
        await new Promise((r) => setTimeout(r, f * 3));
        await flushPrefix(t.testRedis!);
      }
      const results = await Promise.all(pending);
      expect(results.every((r) => !r.duplicate)).toBe(true);
      const sum = await ledgerSum(u);
      expect(sum.n).toBe(200);
      expect((await t.engine.balance(u)).used).toBe(sum.s);
      // And the counter in Redis agrees with a fresh rebuild.
      await flushPrefix(t.testRedis!);
      expect((await t.engine.balance(u)).used).toBe(sum.s);
    }
  });

  it('SCRIPT FLUSH: the scripts are loaded again transparently', async () => {
    const u = uid();
    await settle(u, 'sf-1', 10);
    const raw = new Redis(TEST_REDIS_URL);
    try {
      expect(await raw.script('FLUSH')).toBe('OK');
    } finally {
      raw.disconnect();
    }
    expect((await t.engine.reserve({ userId: u, requestId: 'sf-2', estimate: 20 })).ok).toBe(true);
    expect((await settle(u, 'sf-2', 20)).balance).toMatchObject({ used: 30, reserved: 0 });
    expect((await t.engine.balance(u)).used).toBe(30);
  });

  it('a settle whose ledger insert committed but whose Lua step was lost heals exactly once on retry', async () => {
    const u = uid();
    await settle(u, 'lost-0', 100);
    // The crash: the ledger row is durable, the process died before the Lua step (no marker, counter unmoved).
    const s: Settlement = {
      requestId: 'lost-1', userId: u, model: 'm', promptTokens: 40, completionTokens: 0, weightedTokens: 40, cost: 0,
      source: 'proxy', estimated: false, occurredAt: t.clock(),
    };
    const written = await insertLedgerRows(t.db.pool, [s], t.config.SOLARIS_TIMEZONE);
    expect(written.get('lost-1')!.inserted).toBe(true);
    expect(await t.testRedis!.exists(userKeys(u).marker('lost-1'))).toBe(0);
    expect((await t.engine.balance(u)).used).toBe(100);

    // The caller retries within the replay window: the counter moves once, and never again.
    t.clock.advance(60_000);
    try {
      const retry = await settle(u, 'lost-1', 40);
      expect(retry.duplicate).toBe(true);
      expect(retry.balance.used).toBe(140);
      for (let i = 0; i < 3; i++) expect((await settle(u, 'lost-1', 40)).balance.used).toBe(140);
    } finally {
      t.clock.advance(-60_000);
    }

    // Same crash simulated the other way: undo the Lua step of a settled request (marker + usage).
    await settle(u, 'lost-2', 25);
    await t.testRedis!.del(userKeys(u).marker('lost-2'));
    await t.testRedis!.hincrby(userKeys(u).counter, 'used', -25);
    expect((await t.engine.balance(u)).used).toBe(140);
    expect((await settle(u, 'lost-2', 25)).balance.used).toBe(165);
    expect((await settle(u, 'lost-2', 25)).balance.used).toBe(165);
    expect((await ledgerSum(u)).s).toBe(165);
  });

  it('a caller that saw MISSING before another rebuild finished does not rebuild over the live counter', async () => {
    const u = uid();
    await settle(u, 'late-rb-0', 100);
    // A settlement whose ledger row commits after a rebuild's snapshot and whose Lua step lands on the live
    // counter: the counter knows it, the snapshot of a second rebuild would not. Model it: count 30 in Redis
    // only (row not committed yet).
    await t.testRedis!.hincrby(userKeys(u).counter, 'used', 30);
    // The late second rebuild (its caller saw MISSING earlier; the lock is free now).
    const store = t.engine.store as unknown as { rebuild(userId: string, now: number): Promise<void> };
    await store.rebuild(u, t.clock());
    expect((await t.engine.balance(u)).used).toBe(130); // kept, not replaced by the ledger's 100
  });

  it('a crash between the ledger commit and the Lua step, never retried: counted once its hold expires', async () => {
    const u = uid();
    await settle(u, 'dead-0', 100);
    await t.engine.reserve({ userId: u, requestId: 'dead-1', estimate: 60 });
    // The process commits the ledger row, then dies: no Lua step, no retry, the hold stays.
    const s: Settlement = {
      requestId: 'dead-1', userId: u, model: 'm', promptTokens: 50, completionTokens: 0, weightedTokens: 50, cost: 0,
      source: 'proxy', estimated: false, occurredAt: t.clock(),
    };
    await insertLedgerRows(t.db.pool, [s], t.config.SOLARIS_TIMEZONE);
    expect(await t.engine.balance(u)).toMatchObject({ used: 100, reserved: 60 });
    // The hold expires (TTL): the expired hold makes the store rebuild the counter from the ledger.
    t.clock.advance(t.config.SOLARIS_RESERVATION_TTL_MS + 1);
    try {
      expect(await t.engine.balance(u)).toMatchObject({ used: 150, reserved: 0 });
      // A late retry of the same request does not count it again (the rebuild marked it).
      expect((await settle(u, 'dead-1', 50)).balance.used).toBe(150);
      expect((await ledgerSum(u)).s).toBe(150);
    } finally {
      t.clock.advance(-(t.config.SOLARIS_RESERVATION_TTL_MS + 1));
    }
  });

  it('a late row (old occurredAt) whose Lua step races a rebuild is counted once', async () => {
    const u = uid();
    await settle(u, 'late-0', 10);
    // Delivered now, but it happened 40 minutes ago (e.g. a retried callback): the ledger commit is done...
    const late: Settlement = {
      requestId: 'late-1', userId: u, model: 'm', promptTokens: 70, completionTokens: 0, weightedTokens: 70, cost: 0,
      source: 'librechat', estimated: false, occurredAt: t.clock() - 40 * 60_000,
    };
    const row = (await insertLedgerRows(t.db.pool, [late], t.config.SOLARIS_TIMEZONE)).get('late-1')!.row;
    // ...then the counter is lost and rebuilt (it counts the row) before the settle's own Lua step runs.
    await flushPrefix(t.testRedis!);
    expect((await t.engine.balance(u)).used).toBe(80);
    const k = userKeys(u);
    const lua = t.testRedis as unknown as { solarisSettle(...a: (string | number)[]): Promise<string> };
    const reply = await lua.solarisSettle(k.counter, k.reservations, k.marker('late-1'), 'late-1', 70, row.period_key, t.clock(), 3_600_000);
    expect(reply.split('\n')[0]).toBe('already');
    expect((await t.engine.balance(u)).used).toBe(80);
  });

  it('a replay older than the replay window never touches the counter', async () => {
    const u = uid();
    await settle(u, 'old-0', 10);
    await t.testRedis!.del(userKeys(u).marker('old-0'));
    t.clock.advance(11 * 60_000);
    try {
      const r = await settle(u, 'old-0', 10);
      expect(r.duplicate).toBe(true);
      expect(r.balance.used).toBe(10);
    } finally {
      t.clock.advance(-11 * 60_000);
    }
  });

  it('every key the store creates for a user shares the {user} hash tag (one cluster slot)', async () => {
    const users = [uid(), 'weird{user}:id', '6650f1c2e4b0a1b2c3d4e5f6'];
    for (const u of users) {
      await t.engine.reserve({ userId: u, requestId: `k-${u}-1`, estimate: 5 });
      await t.engine.reserve({ userId: u, requestId: `k-${u}-2`, estimate: 5 });
      await settle(u, `k-${u}-1`, 5);
    }
    const raw = new Redis(TEST_REDIS_URL);
    const keys = (await raw.keys(`${t.testRedis!.testPrefix}*`)).map((k) => k.slice(t.testRedis!.testPrefix.length));
    raw.disconnect();
    for (const u of users) {
      const k = userKeys(u);
      const mine = keys.filter((key) => key.startsWith(k.counter.slice(0, -1)));
      // counter, reservations and at least one settled marker
      expect(mine).toEqual(expect.arrayContaining([k.counter, k.reservations, k.marker(`k-${u}-1`)]));
      const slots = new Set(mine.map(keySlot));
      expect(slots.size).toBe(1);
      expect([...slots][0]).toBe(keySlot(k.counter));
    }
    // Different users are spread over different slots (the tag is the user, not a constant).
    expect(new Set(users.map((u) => keySlot(userKeys(u).counter))).size).toBe(users.length);
  });
});
