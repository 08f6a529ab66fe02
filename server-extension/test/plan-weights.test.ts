/**
 * The per-process cache of plan model weights (core/plan-weights.ts): another replica's change is seen once the
 * cache's TTL has passed; a Postgres outage keeps the last tables instead of failing decisions. Real Postgres.
 */
import pg from 'pg';
import { PlanWeights } from '../src/core/plan-weights';
import { createTestEngine, type TestEngine } from './helpers/engine';
import { until } from './helpers/infra';

const ADMIN = { id: 'admin-1' };
const sync = (v: ReadonlyMap<string, number> | Promise<ReadonlyMap<string, number>>) => Promise.resolve(v).then((m) => Object.fromEntries(m));

describe('plan weights cache', () => {
  let t: TestEngine;
  beforeAll(async () => {
    t = await createTestEngine({ store: 'postgres' });
  });
  afterAll(async () => t?.cleanup());

  it('another replica’s change is seen after the TTL; the first read waits for the load, later reads are synchronous', async () => {
    const replica = new PlanWeights(t.db.pool, { ttlMs: 200 });
    const first = replica.forModel('gpt-4o-mini');
    expect(first).toBeInstanceOf(Promise); // nothing loaded yet
    expect(await sync(first)).toEqual({});
    expect(replica.forModel('gpt-4o-mini')).not.toBeInstanceOf(Promise); // fresh: no promise on the hot path

    // Changed through "this" replica's engine (which reloads at once); the other one sees it once its TTL passed.
    await t.engine.admin.upsertPlan({ id: 'vip', name: 'VIP', tokenLimit: 1000, period: 'month', modelWeights: { 'gpt-4o*': 3, 'o1': 9 } }, ADMIN);
    await until(() => sync(replica.forModel('gpt-4o-mini')), (w) => w.vip === 3, 3_000);
    expect(await sync(replica.forModel('o1'))).toEqual({ vip: 9 });
    expect(await sync(replica.forModel('o1-mini'))).toEqual({}); // exact name, not a prefix
  });

  it('Postgres unreachable: the last tables stay in use and nothing throws', async () => {
    const good = new PlanWeights(t.db.pool, { ttlMs: 1 });
    expect(await sync(good.forModel('gpt-4o'))).toEqual({ vip: 3 });
    // The same cache over a pool that cannot connect (closed port): a reload fails, the old tables answer.
    const dead = new pg.Pool({ connectionString: 'postgres://postgres@127.0.0.1:1/test', connectionTimeoutMillis: 200 });
    const warnings: string[] = [];
    const cache = new PlanWeights(dead, { ttlMs: 1, logger: { warn: (m: string) => warnings.push(m) } as never });
    expect(await sync(cache.forModel('gpt-4o'))).toEqual({}); // never loaded: the deployment table decides
    expect(warnings).toEqual(['plan weights not reloaded (using the last ones)']);
    await dead.end();
  });
});
