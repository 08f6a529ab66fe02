/**
 * No overspend: 200 concurrent streaming requests by one user at 95 % of quota, through the metering proxy of
 * two standalone server processes sharing one Redis (private redis-server) and one Postgres schema.
 * The overshoot stays within the documented bound (docs/architecture.md "Reliability guarantees"):
 *   used − capacity ≤ Σ over admitted requests of max(0, actual − estimate)
 * and the ledger equals what the fake upstream reported, request by request.
 * Run twice: on one redis-server, and on a real 3-master Redis Cluster (SOLARIS_REDIS_MODE=cluster).
 */
import type { EngineRuntime } from '../../src/core/create-engine';
import type { FakeUpstream } from '../../src/dev/fake-upstream';
import type { TestDb } from '../helpers/infra';
import { count, ledgerRows, openReservations, runLoad, upstreamUsage, type Replica, type ChatSpec, startTwoReplicaCluster, type TwoReplicaCluster } from './cluster';

let db: TestDb;
let fake: FakeUpstream;
let replicas: Replica[] = [];
let admin: EngineRuntime;
let cluster: TwoReplicaCluster | undefined;

async function scenario(userId: string, spec: ChatSpec) {
  const limit = 40_000;
  await admin.engine.admin.setLimitOverride({ userId, limit }, { id: 'reliability' });
  // 95 % of the quota already spent.
  await admin.engine.settle({ requestId: `${userId}-past`, userId, model: 'fake-model', promptTokens: 38_000, completionTokens: 0, source: 'proxy' });
  const t0 = Date.now();
  const results = await runLoad({
    total: 200,
    concurrency: 200,
    userId,
    prefix: userId,
    spec,
    replicaUrl: (i) => ({ url: replicas[i % 2]!.url, index: i % 2 }),
  });
  const elapsed = Date.now() - t0;
  const rows = await ledgerRows(db.pool, userId);
  const byId = new Map(rows.map((r) => [r.request_id, r]));
  const upstream = upstreamUsage(fake);
  const admitted = results.filter((r) => r.outcome === 'completed');
  let bound = 0;
  for (const r of admitted) {
    const u = upstream.get(r.requestId)!;
    const row = byId.get(r.requestId);
    // Each acknowledged request: one ledger row with exactly what the upstream reported.
    expect(row, r.key).toMatchObject({ prompt_tokens: u.prompt, completion_tokens: u.completion, estimated: false });
    // The request's hold: its prompt estimate plus the completion limit the proxy sent upstream (reserve up to
    // what was left can shrink it below max_tokens; the bound is over what was really held).
    const hold = r.estimate - spec.maxTokens + (u.limit ?? spec.maxTokens);
    expect(hold, r.key).toBeLessThanOrEqual(r.estimate);
    bound += Math.max(0, u.prompt + u.completion - hold);
  }
  // Refused requests never reached the upstream and left no row.
  for (const r of results.filter((x) => x.outcome === 'refused')) {
    expect(upstream.has(r.requestId)).toBe(false);
    expect(byId.has(r.requestId)).toBe(false);
  }
  expect(rows).toHaveLength(admitted.length + 1);
  const balance = await admin.engine.balance(userId);
  const ledgerSum = rows.reduce((a, r) => a + Number(r.weighted_tokens), 0);
  expect(balance.used).toBe(ledgerSum); // counter = ledger (no double count across the two processes)
  expect(balance.reserved).toBe(0);
  expect(await openReservations(admin.redis!, userId)).toBe(0);
  const overshoot = balance.used - limit;
  expect(overshoot).toBeLessThanOrEqual(bound);
  const c = count(results);
  expect(c.failed + c.unavailable).toBe(0);
  expect(c.refused).toBeGreaterThan(0);
  expect(c.completed).toBeGreaterThan(0);
  console.info(
    `[reliability] no-overspend ${userId}: 200 streams over 2 processes in ${elapsed} ms → ${c.completed} served, ${c.refused} refused (402); ` +
      `used ${balance.used}/${limit}, overshoot ${overshoot} ≤ bound ${bound}; per-request estimate ${admitted[0]?.estimate}, actual ${admitted[0] ? upstream.get(admitted[0].requestId)!.prompt + upstream.get(admitted[0].requestId)!.completion : '-'}; ` +
      `${admitted.filter((r) => upstream.get(r.requestId)!.limit !== spec.maxTokens).length} admitted with a smaller hold`,
  );
  return { overshoot, bound, served: c.completed };
}

for (const mode of ['single', 'cluster'] as const) {
  describe(`no overspend: 200 concurrent streams at 95 % of quota over two server processes (Redis ${mode === 'single' ? 'single node' : 'Cluster, 3 masters'})`, () => {
    beforeAll(async () => {
      cluster = await startTwoReplicaCluster(`overspend-${mode}`, { chunkDelayMs: 5, redisCluster: mode === 'cluster' });
      ({ db, fake, replicas, admin } = cluster);
    });
    afterAll(async () => cluster?.stop());

    it('upstream honours max_tokens: no overshoot at all (bound 0)', async () => {
      fake.options.honourMaxTokens = true;
      const r = await scenario(`ovs-honest-${mode}`, { content: 'Resuma a ata da reunião de ontem.', maxTokens: 20 });
      expect(r.bound).toBe(0);
      expect(r.overshoot).toBeLessThanOrEqual(0);
    }, 60_000);

    it('streams overrun their estimate (upstream ignores max_tokens): overshoot within Σ(actual − estimate) of admitted requests', async () => {
      fake.options.honourMaxTokens = false;
      const r = await scenario(`ovs-overrun-${mode}`, { content: 'Resuma a ata da reunião de ontem.', maxTokens: 10 });
      expect(r.bound).toBeGreaterThan(0);
    }, 60_000);
  });
}
