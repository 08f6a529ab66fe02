/**
 * SnapshotBatcher (core/policy.ts): the policy snapshots of concurrent counter rebuilds read in shared
 * statements give exactly what one statement per user gives — limits, grants, resets, usage, fired
 * thresholds and the recently settled ids — each at its caller's own `now`. Real Postgres.
 */
import type pg from 'pg';
import { SnapshotBatcher, loadPolicySnapshot } from '../src/core/policy';
import { createTestEngine, type TestEngine } from './helpers/engine';

const ADMIN = { id: 'admin-1' };
const TZ = 'America/Sao_Paulo';

describe('SnapshotBatcher', () => {
  let t: TestEngine;
  const users = Array.from({ length: 40 }, (_, i) => `snap-${i}`);
  beforeAll(async () => {
    t = await createTestEngine({ store: 'postgres' });
    await t.engine.admin.upsertPlan({ id: 'small', name: 'Small', tokenLimit: 1_000, period: 'month' }, ADMIN);
    await t.engine.admin.upsertPlan({ id: 'daily', name: 'Daily', tokenLimit: 300, period: 'day' }, ADMIN);
    for (const [i, u] of users.entries()) {
      await t.engine.admin.assignPlan({ userId: u, planId: i % 2 ? 'small' : 'daily' }, ADMIN);
      if (i % 3 === 0) await t.engine.admin.setLimitOverride({ userId: u, limit: 5_000 + i }, ADMIN);
      if (i % 4 === 0) await t.engine.admin.grant({ userId: u, tokens: 100 + i, reason: 'teste' }, ADMIN);
      for (let k = 0; k < (i % 5) + 1; k++) {
        await t.engine.settle({ userId: u, requestId: `${u}-r${k}`, model: 'm', promptTokens: 10 * (k + 1), completionTokens: i, source: 'proxy' });
      }
      if (i % 7 === 0) await t.engine.admin.reset({ userId: u, reason: 'teste' }, ADMIN);
    }
  });
  afterAll(async () => t?.cleanup());

  /** The real pool, counting the statements sent. */
  function counting(pool: pg.Pool) {
    const sent: string[] = [];
    const q = { query: (c: pg.QueryConfig) => (sent.push(c.name ?? c.text), pool.query(c)) } as unknown as pg.Pool;
    return { q, sent };
  }

  it('equals one snapshot per user, in far fewer statements, each at its own time', async () => {
    const now = t.clock();
    // Two instants: a caller may arrive a moment later; one user asked at a time of the next day (daily plan).
    const at = (i: number) => (i === 5 ? now + 86_400_000 : now + (i % 3));
    const since = now - 600_000;
    const expected = await Promise.all(users.map((u, i) => loadPolicySnapshot(t.db.pool, u, at(i), TZ, since)));
    const { q, sent } = counting(t.db.pool);
    const batcher = new SnapshotBatcher(q, TZ);
    const got = await Promise.all(users.map((u, i) => batcher.load(u, at(i), since)));
    expect(got).toEqual(expected);
    expect(sent.length).toBeLessThanOrEqual(2);
    expect(got.some((s) => s.recent.length > 0)).toBe(true); // the recently settled ids ride along
    expect(new Set(got.map((s) => s.periodKind))).toEqual(new Set(['day', 'month']));
    // An unknown user gets the default plan's snapshot, like the single query.
    const { q: q2 } = counting(t.db.pool);
    const b2 = new SnapshotBatcher(q2, TZ);
    const [known, unknown] = await Promise.all([b2.load(users[1]!, now), b2.load('nobody-here', now)]);
    expect(unknown).toEqual(await loadPolicySnapshot(t.db.pool, 'nobody-here', now, TZ));
    expect(known).toEqual(await loadPolicySnapshot(t.db.pool, users[1]!, now, TZ));
  });

  it('a failing statement rejects every caller of its batch, and the next batch works', async () => {
    let fail = true;
    const q = {
      query: (c: pg.QueryConfig) => (fail ? Promise.reject(Object.assign(new Error('connection lost'), { code: '57P01' })) : t.db.pool.query(c)),
    } as unknown as pg.Pool;
    const batcher = new SnapshotBatcher(q, TZ);
    const results = await Promise.allSettled(users.slice(0, 5).map((u) => batcher.load(u, t.clock())));
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
    fail = false;
    expect((await batcher.load(users[0]!, t.clock())).periodKind).toBe('day');
  });
});
