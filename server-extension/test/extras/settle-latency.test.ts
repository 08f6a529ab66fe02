/**
 * A slow or failing webhook receiver never slows a chat request: engine.settle latency with no webhooks vs
 * with three receivers that never answer (every settle crosses a threshold → webhook events). Figures printed.
 */
import { createTestEngine, type TestEngine } from '../helpers/engine';
import { createFeatureServices, type FeatureServices } from '../../src/core/feature-services';
import { Receiver } from './receiver';

const ADMIN = { id: 'admin-1' };
const N = 150;
const WARMUP = 20;

let te: TestEngine;
let x: FeatureServices | null = null;
const hanging = [new Receiver(), new Receiver(), new Receiver()];

beforeAll(async () => {
  await Promise.all(hanging.map((r) => r.start()));
  for (const r of hanging) r.fallback = 'hang';
  te = await createTestEngine({ store: 'redis' });
  await te.engine.admin.upsertPlan({ id: 'padrao', name: 'Padrão', tokenLimit: 100, period: 'month', isDefault: true }, ADMIN);
});
afterAll(async () => {
  await x?.close();
  await te?.cleanup();
  await Promise.all(hanging.map((r) => r.close()));
});

async function run(label: string): Promise<{ p50: number; p95: number; max: number }> {
  const times: number[] = [];
  for (let i = 0; i < N + WARMUP; i++) {
    const t0 = performance.now();
    // 90 of 100 tokens: crosses 80 % → a threshold event (→ a webhook per endpoint when enabled).
    await te.engine.settle({ requestId: `${label}-${i}`, userId: `${label}-u${i}`, model: 'm', promptTokens: 90, completionTokens: 0, source: 'proxy' });
    if (i >= WARMUP) times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const q = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))]!;
  return { p50: q(0.5), p95: q(0.95), max: times[times.length - 1]! };
}

it('engine.settle latency is unaffected by receivers that hang', async () => {
  const baseline = await run('base');

  x = createFeatureServices(te.engine, { webhooks: { dispatcher: { pollMs: 20, timeoutMs: 2_000, baseDelayMs: 500, batchSize: 50 } } });
  for (const r of hanging) await x.webhooks.endpoints.create({ url: r.url }, ADMIN);
  x.start();
  const withHanging = await run('hang');

  // The comparison means something only if deliveries were really stuck while we measured.
  await Promise.all(hanging.map((r) => r.waitFor(1)));
  const { rows } = await te.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM webhook_outbox WHERE event_type = 'threshold.crossed'`);
  const fmt = (s: { p50: number; p95: number; max: number }) => `p50 ${s.p50.toFixed(2)} ms, p95 ${s.p95.toFixed(2)} ms, max ${s.max.toFixed(2)} ms`;
  console.log(`[settle latency, ${N} settles, Redis store] no webhooks: ${fmt(baseline)} | 3 hanging receivers: ${fmt(withHanging)} | outbox rows: ${rows[0]!.n}`);
  expect(rows[0]!.n).toBeGreaterThanOrEqual(N * hanging.length);
  // Generous: the enqueue is an in-memory push; the INSERT and the deliveries run off the request path.
  expect(withHanging.p50).toBeLessThan(Math.max(baseline.p50 * 2, baseline.p50 + 10));
  expect(withHanging.p95).toBeLessThan(Math.max(baseline.p95 * 4, baseline.p95 + 50)); // shared 2-core machine: noisy
});
