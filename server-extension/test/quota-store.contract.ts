/**
 * One contract, every store (rate-limiter-flexible style): the Redis and the Postgres QuotaStore must
 * behave identically through the engine. Real Postgres and Redis; the clock is injected.
 */
import { SolarisError } from '../src/core/errors';
import { QuotaEngine } from '../src/core/engine';
import { createStore } from '../src/core/create-engine';
import type { SolarisConfig } from '../src/core/config';
import { createTestEngine, type TestEngine } from './helpers/engine';
import { startAofRedis, type AofRedis } from '../src/dev/redis-server';
import { startRedisCluster, type RedisClusterServer } from '../src/dev/redis-cluster';

const ADMIN = { id: 'admin-1', email: 'admin@example.com' };

/** Outbox ack: acknowledged rows reach the ledger when drained; write them now before reading the ledger. */
async function syncLedger(t: TestEngine) {
  const store = t.engine.store as { flushOutbox?: () => Promise<number> };
  await store.flushOutbox?.();
}

async function ledgerRows(t: TestEngine, userId: string) {
  await syncLedger(t);
  return (await t.db.pool.query(`SELECT * FROM ledger WHERE user_id = $1 ORDER BY seq`, [userId])).rows;
}

/**
 * `redis-outbox`: the Redis store with SOLARIS_SETTLE_ACK=outbox, on its own Redis with appendonly yes.
 * `redis-cluster`: the Redis store on a real 3-master Redis Cluster (ioredis `Cluster`).
 */
export function quotaStoreContract(variant: 'redis' | 'postgres' | 'redis-outbox' | 'redis-cluster') {
  const store = variant === 'postgres' ? 'postgres' : 'redis';
  describe(`QuotaStore contract: ${variant}`, () => {
    let t: TestEngine;
    let aof: AofRedis | null = null;
    let cluster: RedisClusterServer | null = null;
    let n = 0;
    const uid = () => `user-${store}-${++n}`;

    beforeAll(async () => {
      if (variant === 'redis-outbox') aof = await startAofRedis();
      if (variant === 'redis-cluster') cluster = await startRedisCluster();
      t = await createTestEngine({
        store,
        redisUrl: aof?.url,
        cluster: cluster ?? undefined,
        env: {
          SOLARIS_MODEL_WEIGHTS: '{"gpt-4o*":2}',
          SOLARIS_RESERVATION_TTL_MS: '60000',
          SOLARIS_MAX_INFLIGHT: '3',
          ...(variant === 'redis-outbox' ? { SOLARIS_SETTLE_ACK: 'outbox' } : {}),
        },
      });
      await t.engine.admin.upsertPlan({ id: 'mini', name: 'Mini', tokenLimit: 1000, period: 'month' }, ADMIN);
      await t.engine.admin.upsertPlan({ id: 'diario', name: 'Diário', tokenLimit: 300, period: 'day' }, ADMIN);
    });
    afterAll(async () => {
      await t?.cleanup();
      await aof?.stop();
      await cluster?.stop();
    });

    async function userOnMini() {
      const u = uid();
      await t.engine.admin.assignPlan({ userId: u, planId: 'mini' }, ADMIN);
      return u;
    }
    const settle = (userId: string, requestId: string, promptTokens: number, completionTokens: number, model = 'm') =>
      t.engine.settle({ userId, requestId, model, promptTokens, completionTokens, source: 'proxy' });

    it('reserve up to: holds as much as is available when the minimum fits, refuses when it does not (issue 15 item 4)', async () => {
      const u = await userOnMini(); // 1,000 tokens
      await settle(u, 'used-1', 700, 0); // 300 left
      // Asks 50 + 1,024 with a minimum of 51 (the prompt and one completion token): holds the 300 available.
      const r = await t.engine.reserve({ userId: u, requestId: 'up-1', model: 'm', tokens: 1_074, minTokens: 51 });
      expect(r).toMatchObject({ ok: true, outcome: 'reserved', estimate: 300, tokens: 300 });
      expect(r.balance).toMatchObject({ reserved: 300, remaining: 0 });
      // Asked again (same id): the same hold, not a new one.
      const again = await t.engine.reserve({ userId: u, requestId: 'up-1', model: 'm', tokens: 1_074, minTokens: 51 });
      expect(again).toMatchObject({ ok: true, outcome: 'already_reserved', estimate: 300, tokens: 300 });
      // Nothing left: refused even with a minimum of 1.
      expect(await t.engine.reserve({ userId: u, requestId: 'up-2', model: 'm', tokens: 10, minTokens: 1 })).toMatchObject({ ok: false, outcome: 'quota_exceeded' });
      await t.engine.release('up-1', u);
      // The minimum does not fit: refused, nothing held.
      const big = await t.engine.reserve({ userId: u, requestId: 'up-3', model: 'm', tokens: 2_000, minTokens: 301 });
      expect(big).toMatchObject({ ok: false, outcome: 'quota_exceeded' });
      expect(big.balance.reserved).toBe(0);
      // Everything fits: the whole ask, as without a minimum.
      expect(await t.engine.reserve({ userId: u, requestId: 'up-4', model: 'm', tokens: 120, minTokens: 20 })).toMatchObject({ ok: true, estimate: 120, tokens: 120 });
      // Weighted (gpt-4o* × 2): 180 weighted available → 90 raw tokens covered.
      const w = await t.engine.reserve({ userId: u, requestId: 'up-5', model: 'gpt-4o', tokens: 1_000, minTokens: 10 });
      expect(w).toMatchObject({ ok: true, estimate: 180, tokens: 90 });
      // Without a minimum: all or nothing, as before.
      await t.engine.release('up-5', u);
      expect(await t.engine.reserve({ userId: u, requestId: 'up-6', model: 'm', tokens: 181 })).toMatchObject({ ok: false, outcome: 'quota_exceeded' });
    });

    it('a new user gets the default plan and a full balance', async () => {
      const b = await t.engine.balance(uid());
      expect(b).toMatchObject({ planId: 'padrao', limit: 100000, used: 0, reserved: 0, remaining: 100000, state: 'ok', periodKey: '2026-11' });
    });

    it('reserves within the limit and refuses over it', async () => {
      const u = await userOnMini();
      const ok = await t.engine.reserve({ userId: u, requestId: 'r1', estimate: 600 });
      expect(ok).toMatchObject({ ok: true, outcome: 'reserved' });
      expect(ok.balance).toMatchObject({ reserved: 600, remaining: 400 });
      const blocked: unknown[] = [];
      t.engine.events.on('blocked', (e) => blocked.push(e));
      const over = await t.engine.reserve({ userId: u, requestId: 'r2', estimate: 401 });
      expect(over).toMatchObject({ ok: false, outcome: 'quota_exceeded' });
      expect(blocked).toHaveLength(1);
      const again = await t.engine.reserve({ userId: u, requestId: 'r1', estimate: 600 });
      expect(again).toMatchObject({ ok: true, outcome: 'already_reserved' });
      expect(again.balance.reserved).toBe(600);
    });

    it('settles less and more than reserved; the reservation is freed', async () => {
      const u = await userOnMini();
      await t.engine.reserve({ userId: u, requestId: 'a', estimate: 300 });
      const less = await settle(u, 'a', 50, 50);
      expect(less.balance).toMatchObject({ used: 100, reserved: 0, remaining: 900 });
      await t.engine.reserve({ userId: u, requestId: 'b', estimate: 100 });
      const more = await settle(u, 'b', 100, 150);
      expect(more.balance).toMatchObject({ used: 350, reserved: 0, remaining: 650 });
      expect(more.entry).toMatchObject({ requestId: 'b', promptTokens: 100, completionTokens: 150, totalTokens: 250, weightedTokens: 250 });
      expect(await ledgerRows(t, u)).toHaveLength(2);
    });

    it('release frees the hold; an unknown request id releases nothing', async () => {
      const u = await userOnMini();
      await t.engine.reserve({ userId: u, requestId: 'x', estimate: 700 });
      expect(await t.engine.release('x', u)).toBe(true);
      expect((await t.engine.balance(u)).reserved).toBe(0);
      expect(await t.engine.release('x', u)).toBe(false);
      expect(await t.engine.release('never-seen', u)).toBe(false);
      expect((await t.engine.balance(u)).remaining).toBe(1000);
    });

    it('an abandoned reservation expires after its TTL', async () => {
      const u = await userOnMini();
      await t.engine.reserve({ userId: u, requestId: 'crashed', estimate: 1000 });
      expect((await t.engine.reserve({ userId: u, requestId: 'next', estimate: 1 })).ok).toBe(false);
      t.clock.advance(60_001);
      try {
        expect((await t.engine.balance(u)).reserved).toBe(0);
        expect((await t.engine.reserve({ userId: u, requestId: 'next', estimate: 1 })).ok).toBe(true);
      } finally {
        t.clock.advance(-60_001);
      }
    });

    it('limits parallel generations per user', async () => {
      const u = await userOnMini();
      for (const id of ['p1', 'p2', 'p3']) expect((await t.engine.reserve({ userId: u, requestId: id, estimate: 10 })).ok).toBe(true);
      expect(await t.engine.reserve({ userId: u, requestId: 'p4', estimate: 10 })).toMatchObject({ ok: false, outcome: 'too_many_inflight' });
    });

    it('grants add to the period, and an expiring grant stops counting when it expires', async () => {
      const u = await userOnMini();
      await settle(u, 'g0', 500, 500);
      expect((await t.engine.balance(u)).state).toBe('blocked');
      const afterGrant = await t.engine.admin.grant({ userId: u, tokens: 500, reason: 'teste' }, ADMIN);
      expect(afterGrant).toMatchObject({ granted: 500, remaining: 500, state: 'ok' });
      const expiresAt = new Date(t.clock() + 3_600_000).toISOString();
      expect(await t.engine.admin.grant({ userId: u, tokens: 200, expiresAt }, ADMIN)).toMatchObject({ granted: 700 });
      t.clock.advance(3_600_001);
      try {
        expect((await t.engine.balance(u)).granted).toBe(500);
      } finally {
        t.clock.advance(-3_600_001);
      }
    });

    it('a per-user override replaces the plan limit, and clearing it restores the plan', async () => {
      const u = await userOnMini();
      expect(await t.engine.admin.setLimitOverride({ userId: u, limit: 5000 }, ADMIN)).toMatchObject({ limit: 5000 });
      expect(await t.engine.admin.setLimitOverride({ userId: u, limit: null }, ADMIN)).toMatchObject({ limit: 1000 });
    });

    it('a reset zeroes this period’s usage but keeps the ledger', async () => {
      const u = await userOnMini();
      await settle(u, 'before-reset', 400, 0);
      expect(await t.engine.admin.reset({ userId: u, reason: 'suporte' }, ADMIN)).toMatchObject({ used: 0, remaining: 1000 });
      t.clock.advance(1000);
      try {
        expect((await settle(u, 'after-reset', 10, 0)).balance.used).toBe(10);
      } finally {
        t.clock.advance(-1000);
      }
      expect(await ledgerRows(t, u)).toHaveLength(2);
    });

    it('a turn dated before a reset but recorded after it is wiped by the reset: the live counter equals the rebuilt one and the statement', async () => {
      const u = await userOnMini();
      const startedAt = t.clock();
      await t.engine.reserve({ userId: u, requestId: 'in-flight', model: 'm', tokens: 100 });
      await settle(u, 'before', 200, 0);
      t.clock.advance(1000);
      await t.engine.admin.reset({ userId: u, reason: 'suporte' }, ADMIN);
      t.clock.advance(1000);
      try {
        // LibreChat records the turn now, dated when it happened (before the reset)
        const late = await t.engine.settle({ userId: u, requestId: 'in-flight', model: 'm', promptTokens: 60, completionTokens: 20, source: 'librechat', occurredAt: startedAt });
        expect(late.balance).toMatchObject({ used: 0, reserved: 0 });
        const after = await settle(u, 'after', 30, 0);
        expect(after.balance.used).toBe(30);
        await syncLedger(t);
        const top = (await t.engine.statement(u, { limit: 1 })).items[0];
        expect(top?.balanceAfter, 'the statement\'s newest line is the counter').toBe(after.balance.remaining);
        await syncLedger(t);
        await t.engine.store.invalidate(u); // the counter as a rebuild from the ledger sees it
        expect((await t.engine.balance(u)).used).toBe(30);
        expect(await ledgerRows(t, u)).toHaveLength(3); // the ledger keeps every row
      } finally {
        t.clock.advance(-2000);
      }
    });

    it('rolls over to a new period at the calendar boundary (America/Sao_Paulo)', async () => {
      const u = await userOnMini();
      const saved = t.clock();
      t.clock.set('2026-11-30T23:59:00-03:00');
      try {
        await settle(u, 'nov', 900, 0);
        expect(await t.engine.balance(u)).toMatchObject({ periodKey: '2026-11', used: 900 });
        t.clock.set('2026-12-01T00:00:00-03:00');
        const dec = await t.engine.balance(u);
        expect(dec).toMatchObject({ periodKey: '2026-12', used: 0, remaining: 1000, periodEnd: '2027-01-01T03:00:00.000Z' });
        await settle(u, 'dec', 5, 5);
        expect((await t.engine.balance(u)).used).toBe(10);
        // Usage that happened before midnight, settled after it: its own period's row, December untouched.
        t.clock.set('2026-12-01T00:00:20-03:00');
        const late = await t.engine.settle({
          userId: u, requestId: 'late-nov', model: 'm', promptTokens: 7, completionTokens: 0, source: 'proxy',
          occurredAt: Date.parse('2026-11-30T23:59:50-03:00'),
        });
        expect(late.balance).toMatchObject({ periodKey: '2026-12', used: 10 });
        expect((await t.engine.balance(u)).used).toBe(10);
        const rows = await ledgerRows(t, u);
        expect(rows.map((r) => [r.request_id, r.period_key])).toEqual([['nov', '2026-11'], ['dec', '2026-12'], ['late-nov', '2026-11']]);
      } finally {
        t.clock.set(saved);
      }
    });

    it('daily plans roll over every day', async () => {
      const u = uid();
      await t.engine.admin.assignPlan({ userId: u, planId: 'diario' }, ADMIN);
      await settle(u, 'd1', 300, 0);
      expect((await t.engine.balance(u)).state).toBe('blocked');
      t.clock.advance(24 * 3_600_000);
      try {
        expect(await t.engine.balance(u)).toMatchObject({ used: 0, state: 'ok', periodKind: 'day' });
      } finally {
        t.clock.advance(-24 * 3_600_000);
      }
    });

    it('applies model weights (glob) to the charge', async () => {
      const u = await userOnMini();
      const r = await settle(u, 'w', 60, 40, 'gpt-4o-mini');
      expect(r.entry.weightedTokens).toBe(200);
      expect(r.balance.used).toBe(200);
      expect(t.engine.estimateWeighted('gpt-4o', 10, 90)).toBe(200);
      expect(t.engine.estimateWeighted('llama3', 10, 90)).toBe(100);
    });

    it('a plan’s own model weights beat the deployment table for its users, and change only later requests', async () => {
      // Deployment table (beforeAll): {"gpt-4o*":2}. Plan "pesado": gpt-4o* ×3, o1* ×1.1.
      await t.engine.admin.upsertPlan(
        { id: 'pesado', name: 'Pesado', tokenLimit: 100_000, period: 'month', modelWeights: { 'gpt-4o*': 3, 'o1*': 1.1 } },
        ADMIN,
      );
      const heavy = uid();
      await t.engine.admin.assignPlan({ userId: heavy, planId: 'pesado' }, ADMIN);
      const normal = await userOnMini();

      const rh = await t.engine.reserve({ userId: heavy, requestId: 'pw-h', model: 'gpt-4o-mini', tokens: 100 });
      expect(rh).toMatchObject({ ok: true, estimate: 300, balance: { planId: 'pesado', reserved: 300 } });
      const rn = await t.engine.reserve({ userId: normal, requestId: 'pw-n', model: 'gpt-4o-mini', tokens: 100 });
      expect(rn).toMatchObject({ ok: true, estimate: 200, balance: { planId: 'mini', reserved: 200 } });

      // With the plan it was reserved under (as the proxy and the gate pass it) and without (the engine reads it).
      const sh = await t.engine.settle({ userId: heavy, requestId: 'pw-h', model: 'gpt-4o-mini', promptTokens: 60, completionTokens: 40, source: 'proxy', planId: rh.balance.planId });
      expect(sh.entry.weightedTokens).toBe(300);
      expect((await settle(normal, 'pw-n', 60, 40, 'gpt-4o-mini')).entry.weightedTokens).toBe(200);
      expect((await settle(heavy, 'pw-o1', 100, 0, 'o1-preview')).entry.weightedTokens).toBe(110); // 1.1 × 100, not 111
      expect((await settle(heavy, 'pw-other', 10, 0, 'llama3')).entry.weightedTokens).toBe(10); // not in any table
      expect((await ledgerRows(t, heavy)).map((r) => Number(r.weighted_tokens))).toEqual([300, 110, 10]);
      expect((await t.engine.balance(heavy)).used).toBe(420);

      // Omitted on an update: kept. Cleared: the deployment table again, for later requests only.
      await t.engine.admin.upsertPlan({ id: 'pesado', name: 'Pesado', tokenLimit: 100_000, period: 'month' }, ADMIN);
      expect((await t.engine.admin.listPlans()).find((p) => p.id === 'pesado')?.modelWeights).toEqual({ 'gpt-4o*': 3, 'o1*': 1.1 });
      await t.engine.admin.upsertPlan({ id: 'pesado', name: 'Pesado', tokenLimit: 100_000, period: 'month', modelWeights: {} }, ADMIN);
      expect((await settle(heavy, 'pw-after', 60, 40, 'gpt-4o-mini')).entry.weightedTokens).toBe(200);
      expect((await ledgerRows(t, heavy)).map((r) => Number(r.weighted_tokens))).toEqual([300, 110, 10, 200]);
      expect((await t.engine.balance(heavy)).used).toBe(620);
    });

    it('the same settlement delivered 5 times → one ledger row, counter moved once', async () => {
      const u = await userOnMini();
      const results = await Promise.all(Array.from({ length: 5 }, () => settle(u, 'dup', 70, 30)));
      expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
      for (let i = 0; i < 5; i++) await settle(u, 'dup', 70, 30);
      expect(await ledgerRows(t, u)).toHaveLength(1);
      expect((await t.engine.balance(u)).used).toBe(100);
    });

    it('200 parallel reserve+settle for a limit that allows 100 → exactly 100 succeed, counter = ledger', async () => {
      const u = uid();
      await t.engine.admin.setLimitOverride({ userId: u, limit: 1000 }, ADMIN);
      const big = engineWith(t, { SOLARIS_MAX_INFLIGHT: 1000 });
      const outcomes = await Promise.all(
        Array.from({ length: 200 }, async (_, i) => {
          const r = await big.reserve({ userId: u, requestId: `c${i}`, estimate: 10 });
          if (!r.ok) return false;
          await big.settle({ userId: u, requestId: `c${i}`, model: 'm', promptTokens: 5, completionTokens: 5, source: 'proxy' });
          return true;
        }),
      );
      expect(outcomes.filter(Boolean)).toHaveLength(100);
      await syncLedger(t);
      const sum = (await t.db.pool.query(`SELECT sum(weighted_tokens)::int AS s, count(*)::int AS n FROM ledger WHERE user_id = $1`, [u])).rows[0];
      expect(sum).toEqual({ s: 1000, n: 100 });
      expect(await big.balance(u)).toMatchObject({ used: 1000, reserved: 0, remaining: 0, state: 'blocked' });
    });

    it('thresholds fire once per user, period and threshold', async () => {
      const u = await userOnMini();
      const fired: number[] = [];
      const onThreshold = (e: { userId: string; threshold: number }) => e.userId === u && fired.push(e.threshold);
      t.engine.events.on('threshold', onThreshold);
      try {
        await settle(u, 't1', 700, 0);
        expect(fired).toEqual([]);
        await settle(u, 't2', 100, 0); // 80 %
        await settle(u, 't3', 50, 0); // 85 %: no second alert
        expect(fired).toEqual([80]);
        await settle(u, 't4', 200, 0); // 105 %
        expect(fired).toEqual([80, 100]);
        await settle(u, 't5', 1, 0);
        expect(fired).toEqual([80, 100]);
      } finally {
        t.engine.events.off('threshold', onThreshold);
      }
      const rows = (await t.db.pool.query(`SELECT threshold FROM threshold_notifications WHERE user_id = $1 ORDER BY 1`, [u])).rows;
      expect(rows.map((r) => r.threshold)).toEqual([80, 100]);
      // The store remembers them (Redis caches them in the counter), so later settles skip the insert.
      expect((await t.engine.store.state(u, t.clock())).fired).toEqual([80, 100]);
    });

    it('an admin reset re-arms the thresholds of the period: the 80 % warning fires again (issue #15 item 5)', async () => {
      const u = await userOnMini();
      const fired: number[] = [];
      const onThreshold = (e: { userId: string; threshold: number }) => e.userId === u && fired.push(e.threshold);
      t.engine.events.on('threshold', onThreshold);
      t.clock.advance(1000);
      try {
        await settle(u, 'r1', 850, 0); // 85 %
        expect(fired).toEqual([80]);
        await t.engine.admin.reset({ userId: u, reason: 'suporte' }, ADMIN);
        expect((await t.engine.store.state(u, t.clock())).fired).toEqual([]);
        t.clock.advance(1000);
        await settle(u, 'r2', 500, 0); // 50 % after the reset
        expect(fired).toEqual([80]);
        await settle(u, 'r3', 320, 0); // 82 %: warned again
        expect(fired).toEqual([80, 80]);
        await settle(u, 'r4', 10, 0); // still once per (reset-)period
        expect(fired).toEqual([80, 80]);
      } finally {
        t.engine.events.off('threshold', onThreshold);
        t.clock.advance(-2000);
      }
    });

    it('bad input is a typed error and never moves the counter', async () => {
      const u = await userOnMini();
      await settle(u, 'ok', 10, 0);
      const bad: Array<() => Promise<unknown>> = [
        () => t.engine.reserve({ userId: u, requestId: 'n', estimate: -1 }),
        () => t.engine.reserve({ userId: u, requestId: 'n', estimate: 1.5 }),
        () => t.engine.reserve({ userId: '', requestId: 'n', estimate: 1 }),
        () => t.engine.reserve({ userId: u, requestId: '', estimate: 1 }),
        () => t.engine.reserve({ userId: u, requestId: 'n', estimate: 1e15 }),
        () => settle(u, 's', -5, 0),
        () => settle(u, 's', 0.5, 0),
        () => settle(u, 's', 10, Number.NaN),
        () => settle('', 's', 1, 1),
        () => settle(u, 's'.repeat(500), 1, 1),
        () => settle(u, 'lone-\ud800-surrogate', 1, 1), // an id that could not be stored as given
        () => t.engine.reserve({ userId: u, requestId: 'n', model: 'm' }), // model without tokens, no estimate
        () => t.engine.settle({ userId: u, requestId: 's', model: 'm', promptTokens: 1, completionTokens: 1, source: 'bogus' as 'proxy' }),
        () => t.engine.balance('x'.repeat(1000)),
        () => t.engine.admin.grant({ userId: u, tokens: -10 }, ADMIN),
        () => t.engine.admin.grant({ userId: u, tokens: 10, expiresAt: 'amanhã' }, ADMIN),
      ];
      for (const call of bad) {
        const err = await call().then(
          () => null,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(SolarisError);
        expect((err as SolarisError).code).toBe('invalid_input');
        expect((err as SolarisError).status).toBe(400);
      }
      expect(await t.engine.balance(u)).toMatchObject({ used: 10, reserved: 0 });
      expect(await ledgerRows(t, u)).toHaveLength(1);
    });
  });
}

/** A second engine on the same database/Redis/clock with other settings (e.g. more parallel generations). */
function engineWith(t: TestEngine, overrides: Partial<SolarisConfig>) {
  const config = { ...t.config, ...overrides };
  return new QuotaEngine({ config, db: t.db, store: createStore(config, t.db, t.redis), clock: t.clock });
}
