/**
 * The settle step that also frees the turn's other hold (SettleRequest.releaseRequestId: the LibreChat gate
 * reserves `lcgate:<uuid>`, the spend settles as `lc:<transaction id>`), on every store. Real Postgres and Redis.
 */
import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import fc from 'fast-check';
import settleLua from '../src/core/lua/settle-3.lua';
import { resolveIncludes } from '../src/core/lua/scripts';
import { createTestEngine, type TestEngine } from './helpers/engine';
import { startAofRedis, type AofRedis } from '../src/dev/redis-server';
import { startRedisCluster, type RedisClusterServer } from '../src/dev/redis-cluster';

const ADMIN = { id: 'admin-1', email: 'admin@example.com' };

export function settleReleaseContract(variant: 'redis' | 'postgres' | 'redis-outbox' | 'redis-cluster') {
  const store = variant === 'postgres' ? 'postgres' : 'redis';
  describe(`QuotaStore contract, settle frees the turn's hold: ${variant}`, () => {
    let t: TestEngine;
    let aof: AofRedis | null = null;
    let cluster: RedisClusterServer | null = null;
    let n = 0;

    beforeAll(async () => {
      if (variant === 'redis-outbox') aof = await startAofRedis();
      if (variant === 'redis-cluster') cluster = await startRedisCluster();
      t = await createTestEngine({
        store,
        redisUrl: aof?.url,
        cluster: cluster ?? undefined,
        env: {
          SOLARIS_RESERVATION_TTL_MS: '60000',
          SOLARIS_MAX_INFLIGHT: '50',
          ...(variant === 'redis-outbox' ? { SOLARIS_SETTLE_ACK: 'outbox' } : {}),
        },
      });
      await t.engine.admin.upsertPlan({ id: 'big', name: 'Big', tokenLimit: 1_000_000, period: 'month' }, ADMIN);
    });
    afterAll(async () => {
      await t?.cleanup();
      await aof?.stop();
      await cluster?.stop();
    });

    async function user() {
      const u = `sr-${store}-${++n}`;
      await t.engine.admin.assignPlan({ userId: u, planId: 'big' }, ADMIN);
      return u;
    }
    const settle = (userId: string, requestId: string, tokens: number, releaseRequestId?: string) =>
      t.engine.settle({ userId, requestId, model: 'm', promptTokens: tokens, completionTokens: 0, source: 'librechat', releaseRequestId });

    async function ledgerSum(userId: string): Promise<number> {
      await (t.engine.store as { flushOutbox?: () => Promise<number> }).flushOutbox?.();
      const { rows } = await t.db.pool.query<{ s: string | null }>(`SELECT sum(weighted_tokens) AS s FROM ledger WHERE user_id = $1`, [userId]);
      return Number(rows[0]!.s ?? 0);
    }

    it('one settle step charges the spend and frees the gate hold; a retry charges nothing and frees nothing more', async () => {
      const u = await user();
      await t.engine.reserve({ userId: u, requestId: 'lcgate:a', estimate: 400 });
      await t.engine.reserve({ userId: u, requestId: 'lcgate:b', estimate: 300 });
      const r = await settle(u, 'lc:1', 120, 'lcgate:a');
      expect(r.duplicate).toBe(false);
      expect(r.balance).toMatchObject({ used: 120, reserved: 300 }); // the balance the settle step answers: hold a gone
      expect(await t.engine.balance(u)).toMatchObject({ used: 120, reserved: 300 });
      const again = await settle(u, 'lc:1', 120, 'lcgate:a');
      expect(again.duplicate).toBe(true);
      expect(await t.engine.balance(u)).toMatchObject({ used: 120, reserved: 300 });
      expect(await ledgerSum(u)).toBe(120);
    });

    it("frees only the settling user's hold: another user's hold id is left alone", async () => {
      const alice = await user();
      const bob = await user();
      await t.engine.reserve({ userId: bob, requestId: 'lcgate:bob', estimate: 500 });
      await settle(alice, 'lc:alice', 10, 'lcgate:bob');
      expect(await t.engine.balance(bob)).toMatchObject({ used: 0, reserved: 500 });
      expect(await t.engine.balance(alice)).toMatchObject({ used: 10, reserved: 0 });
    });

    // Only on the private servers (a SCRIPT FLUSH on the shared test Redis would disturb other runs).
    it.runIf(variant === 'redis-outbox' || variant === 'redis-cluster')('warmUp (at the host\'s start-up) loads what the first chat needs: the settle script is in Redis before any call', async () => {
      const sha = createHash('sha1').update(resolveIncludes(settleLua)).digest('hex');
      const r = t.testRedis as unknown as (Redis & { nodes?: undefined }) | (Cluster & { nodes: Cluster['nodes'] }) | null;
      const nodes: Redis[] = !r ? [] : typeof r.nodes === 'function' ? r.nodes('master') : [r as Redis];
      await Promise.all(nodes.map((node) => node.script('FLUSH')));
      await t.engine.warmUp();
      for (const node of nodes) expect(await node.script('EXISTS', sha)).toEqual([1]);
    });

    it('property: reserve / settle-with-release / retries / lost counters in random interleavings — counter == ledger, no hold left', async () => {
      type Op =
        | { kind: 'reserve'; amount: number }
        | { kind: 'settle'; tokens: number; pick: number }
        | { kind: 'retry'; pick: number }
        | { kind: 'lost-counter' };
      const op = fc.oneof(
        fc.record({ kind: fc.constant('reserve' as const), amount: fc.integer({ min: 1, max: 500 }) }),
        fc.record({ kind: fc.constant('settle' as const), tokens: fc.integer({ min: 1, max: 300 }), pick: fc.nat() }),
        fc.record({ kind: fc.constant('retry' as const), pick: fc.nat() }),
        fc.constant({ kind: 'lost-counter' as const }),
      );
      // Each batch runs concurrently (its order inside Redis/Postgres is the interleaving); batches run in turn.
      const batches = fc.array(fc.array(op, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 6 });
      await fc.assert(
        fc.asyncProperty(batches, async (plan) => {
          const u = await user();
          const open = new Map<string, number>(); // the holds the model says are open
          const settled: { id: string; tokens: number; release: string | undefined }[] = [];
          let k = 0;
          let charged = 0;
          for (const batch of plan) {
            const work = batch.map((o: Op) => {
              if (o.kind === 'reserve') {
                const id = `lcgate:${u}:${++k}`;
                return t.engine.reserve({ userId: u, requestId: id, estimate: o.amount }).then((r) => {
                  if (r.ok) open.set(id, o.amount);
                });
              }
              if (o.kind === 'settle') {
                const holds = [...open.keys()];
                const release = holds.length > 0 ? holds[o.pick % holds.length] : undefined;
                if (release) open.delete(release);
                const s = { id: `lc:${u}:${++k}`, tokens: o.tokens, release };
                settled.push(s);
                charged += o.tokens;
                return settle(u, s.id, s.tokens, s.release);
              }
              if (o.kind === 'retry') {
                const s = settled.length > 0 ? settled[o.pick % settled.length] : undefined;
                return s ? settle(u, s.id, s.tokens, s.release) : Promise.resolve();
              }
              return t.engine.store.invalidate(u);
            });
            await Promise.all(work);
          }
          const held = [...open.values()].reduce((a, b) => a + b, 0);
          expect(await t.engine.balance(u)).toMatchObject({ used: charged, reserved: held });
          expect(await ledgerSum(u)).toBe(charged);
          // The turns still open end: every hold is freed by its settlement, none is left behind.
          for (const id of [...open.keys()]) await settle(u, `end:${u}:${id}`, 1, id);
          charged += open.size;
          expect(await t.engine.balance(u)).toMatchObject({ used: charged, reserved: 0 });
          expect(await ledgerSum(u)).toBe(charged);
        }),
        { numRuns: 12 },
      );
    });
  });
}
