/**
 * Webhooks end to end: engine events → durable outbox (real Postgres) → dispatcher → real HTTP receivers
 * that verify the signature with node:crypto. Retries, timeouts, de-dup, ordering, replicas, Slack body.
 */
import { Writable } from 'node:stream';
import type { WebhookDeliveryDTO } from '@solaris/wire';
import { createTestEngine, type TestEngine } from '../helpers/engine';
import { until as pollUntil } from '../helpers/infra';
import { createFeatureServices, type FeatureServices } from '../../src/core/feature-services';
import { createLogger } from '../../src/core/logger';
import { OutboxWriter, WebhookDispatcher } from '../../src/core/webhooks';
import { Receiver, verify } from './receiver';

const ADMIN = { id: 'admin-1', email: 'admin@example.com' };
const ENV_SECRET = 'env-secret-0123456789-abcdef';
const FAST = { pollMs: 30, baseDelayMs: 80, maxDelayMs: 300, timeoutMs: 300, maxAttempts: 4 };

let te: TestEngine;
let x: FeatureServices;
let logs = '';
const main = new Receiver();
const envRx = new Receiver();
let n = 0;
const rid = () => `w-${++n}`;

async function outboxRows(endpointId: string) {
  const { rows } = await te.db.pool.query<{ event_id: string; status: string; attempts: number; event_type: string }>(
    `SELECT event_id, status, attempts, event_type FROM webhook_outbox WHERE endpoint_id = $1 ORDER BY id`,
    [endpointId],
  );
  return rows;
}
const until = <T>(fn: () => Promise<T>, ok: (v: T) => boolean, ms = 8_000): Promise<T> => pollUntil(fn, ok, ms);

beforeAll(async () => {
  await Promise.all([main.start(), envRx.start()]);
  envRx.secret = ENV_SECRET;
  te = await createTestEngine({
    store: 'redis',
    env: {
      SOLARIS_WEBHOOK_URLS: JSON.stringify([{ url: envRx.url, secret: ENV_SECRET, events: ['user.blocked', 'org_usage.crossed'], name: 'ops' }]),
      SOLARIS_ORG_USAGE_ALERTS: '40000,1000000000',
    },
  });
  const logger = createLogger({ level: 'debug', stream: new Writable({ write: (c, _e, cb) => ((logs += String(c)), cb()) }) });
  x = createFeatureServices(te.engine, { logger, webhooks: { dispatcher: FAST, tickMs: 60_000 } });
  await te.engine.admin.upsertPlan({ id: 'padrao', name: 'Padrão', tokenLimit: 1_000, period: 'month', isDefault: true }, ADMIN);
  x.start();
});
afterAll(async () => {
  await x?.close();
  await te?.cleanup();
  await Promise.all([main.close(), envRx.close()]);
});

describe('webhooks', () => {
  let endpointId = '';

  it('a threshold crossing arrives signed (HMAC-SHA256 over "<t>.<body>"), with id / timestamp headers and the JSON envelope', async () => {
    const created = await x.webhooks.endpoints.create({ url: main.url, events: ['threshold.crossed', 'quota_request.opened', 'quota_request.decided', 'test'], name: 'main' }, ADMIN);
    expect(created.secret).toMatch(/^whsec_/);
    endpointId = created.id;
    main.secret = created.secret;
    expect((await x.webhooks.endpoints.list()).find((e) => e.id === endpointId)).not.toHaveProperty('secret');

    await te.engine.admin.touchUser({ userId: 'ana', email: 'ana@example.com' });
    await te.engine.settle({ requestId: rid(), userId: 'ana', model: 'm', promptTokens: 850, completionTokens: 0, source: 'proxy' });
    await main.waitFor(1);
    const r = main.received[0]!;
    expect(r.verified).toBe(true);
    expect(r.headers['x-solaris-event-id']).toBe(r.json.id);
    expect(r.headers['x-solaris-event-type']).toBe('threshold.crossed');
    expect(Math.abs(Number(r.headers['x-solaris-timestamp']) - Date.now() / 1000)).toBeLessThan(5);
    expect(r.headers['x-solaris-signature']).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(r.json).toMatchObject({ type: 'threshold.crossed', data: { userId: 'ana', email: 'ana@example.com', threshold: 80, used: 850, capacity: 1_000, periodKey: '2026-11' } });
    // A tampered body, a wrong secret or an old timestamp do not verify.
    expect(verify(main.secret, r.headers['x-solaris-signature'] as string, r.body.replace('850', '1'))).toBe(false);
    expect(verify('whsec_wrong', r.headers['x-solaris-signature'] as string, r.body)).toBe(false);
    expect(verify(main.secret, r.headers['x-solaris-signature'] as string, r.body, -1)).toBe(false);
    // Not subscribed: the env endpoint (blocked / org usage only) got nothing for a threshold.
    expect(envRx.received.filter((e) => e.json.type === 'threshold.crossed')).toHaveLength(0);
  });

  it('retries after 500s with back-off until delivered; the delivery log keeps each attempt', async () => {
    main.reset();
    main.script = [500, 500];
    await te.engine.settle({ requestId: rid(), userId: 'bia', model: 'm', promptTokens: 810, completionTokens: 0, source: 'proxy' });
    await main.waitFor(3);
    const ids = new Set(main.received.map((r) => r.headers['x-solaris-event-id']));
    expect(ids.size).toBe(1); // same event id on every attempt
    expect(main.received.every((r) => r.verified)).toBe(true);
    const gaps = main.received.slice(1).map((r, i) => r.at - main.received[i]!.at);
    expect(gaps[0]).toBeGreaterThanOrEqual(FAST.baseDelayMs * 0.5 - 5); // jittered back-off
    const eventId = [...ids][0] as string;
    const log = await until(
      () => x.webhooks.dispatcher.deliveries({ endpointId }),
      (l) => l.filter((d) => d.eventId === eventId).length === 3,
    );
    const mine = log.filter((d: WebhookDeliveryDTO) => d.eventId === eventId).reverse();
    expect(mine.map((d) => [d.attempt, d.statusCode, d.ok])).toEqual([
      [1, 500, false],
      [2, 500, false],
      [3, 200, true],
    ]);
    expect((await outboxRows(endpointId)).find((r) => r.event_id === eventId)).toMatchObject({ status: 'delivered', attempts: 3 });
  });

  it('a receiver that hangs is timed out and retried; the receiver de-duplicates on the event id', async () => {
    main.reset();
    main.script = ['hang'];
    await te.engine.settle({ requestId: rid(), userId: 'caio', model: 'm', promptTokens: 820, completionTokens: 0, source: 'proxy' });
    await main.waitFor(2);
    const ids = main.received.map((r) => r.headers['x-solaris-event-id']);
    expect(ids[0]).toBe(ids[1]); // at-least-once: the same event again
    const handled = new Set(ids); // what a receiver does: process each id once
    expect(handled.size).toBe(1);
    const log = await until(
      () => x.webhooks.dispatcher.deliveries({ endpointId, limit: 5 }),
      (l) => l[0]?.ok === true && l[0]?.eventId === ids[0],
    );
    expect(log[1]).toMatchObject({ eventId: ids[0], ok: false, statusCode: null, error: expect.stringContaining('timeout') });
    expect(log[1]!.durationMs).toBeGreaterThanOrEqual(FAST.timeoutMs - 20);
  });

  it('the same event raised twice is stored and delivered once; events to one endpoint arrive in order', async () => {
    main.reset();
    const first = x.webhooks.outbox.enqueue({ type: 'test', key: 'dup-key', endpointId, data: { seq: 0 } });
    const second = x.webhooks.outbox.enqueue({ type: 'test', key: 'dup-key', endpointId, data: { seq: 0 } });
    expect(first).toBe(second);
    for (let i = 1; i <= 6; i++) x.webhooks.outbox.enqueue({ type: 'test', endpointId, data: { seq: i } });
    await x.webhooks.outbox.flush();
    await main.waitFor(7);
    await new Promise((r) => setTimeout(r, 200));
    expect(main.received).toHaveLength(7);
    expect(main.received.map((r) => r.json.data?.seq)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect((await outboxRows(endpointId)).filter((r) => r.event_id === first)).toHaveLength(1);
  });

  it('gives up after max attempts (status failed, logged without URL or secret)', async () => {
    main.reset();
    main.fallback = 500;
    const id = x.webhooks.outbox.enqueue({ type: 'test', endpointId, data: { doomed: true } });
    await x.webhooks.outbox.flush();
    const row = await until(
      async () => (await outboxRows(endpointId)).find((r) => r.event_id === id),
      (r) => r?.status === 'failed',
    );
    expect(row).toMatchObject({ status: 'failed', attempts: FAST.maxAttempts });
    expect(main.received).toHaveLength(FAST.maxAttempts);
    expect(logs).toContain('webhook delivery failed');
    expect(logs).not.toContain(main.secret);
    expect(logs).not.toContain(main.url);
    main.fallback = 'ok';
  });

  it('env endpoint (SOLARIS_WEBHOOK_URLS): blocked user once per period and capacity, org usage level once; its secret never logged nor stored', async () => {
    envRx.reset();
    await te.engine.settle({ requestId: rid(), userId: 'davi', model: 'm', promptTokens: 1_000, completionTokens: 0, source: 'proxy' });
    for (let i = 0; i < 3; i++) expect((await te.engine.reserve({ userId: 'davi', requestId: rid(), estimate: 10 })).ok).toBe(false);
    await envRx.waitFor(1);
    // Org usage so far: 850+810+820+1000 = 3,480; push past 40,000 with one big settlement.
    await te.engine.admin.grant({ userId: 'eva', tokens: 100_000 }, ADMIN);
    await te.engine.settle({ requestId: rid(), userId: 'eva', model: 'm', promptTokens: 40_000, completionTokens: 0, source: 'proxy' });
    await envRx.waitFor(2);
    await new Promise((r) => setTimeout(r, 300));
    const types = envRx.received.map((r) => r.json.type);
    expect(types.filter((t) => t === 'user.blocked')).toHaveLength(1);
    expect(types.filter((t) => t === 'org_usage.crossed')).toHaveLength(1);
    expect(envRx.received.every((r) => r.verified)).toBe(true);
    expect(envRx.received.find((r) => r.json.type === 'org_usage.crossed')!.json.data).toMatchObject({ month: '2026-11', level: 40_000, used: 43_480 });
    expect(logs).not.toContain(ENV_SECRET);
    const stored = await te.db.pool.query(`SELECT count(*)::int AS n FROM webhook_endpoints WHERE secret = $1`, [ENV_SECRET]);
    expect(stored.rows[0].n).toBe(0);
    const listed = (await x.webhooks.endpoints.list()).find((e) => e.source === 'env')!;
    expect(listed.url).not.toContain('/hook'); // origin only
    await expect(x.webhooks.endpoints.remove(listed.id, ADMIN)).rejects.toMatchObject({ code: 'forbidden' });
  });

  it('Slack format: {text} in pt-BR; "send test event" reaches a deactivated endpoint', async () => {
    const slack = await new Receiver().start();
    try {
      const ep = await x.webhooks.endpoints.create({ url: slack.url, format: 'slack', events: ['quota_request.opened'] }, ADMIN);
      slack.secret = ep.secret;
      await te.engine.admin.touchUser({ userId: 'fabi', email: 'fabi@example.com' });
      await x.requests.open('fabi', { tokens: 2_000, reason: 'Projeto novo' });
      await slack.waitFor(1);
      expect(slack.received[0]!.json).toEqual({ text: ':inbox_tray: fabi@example.com pediu 2.000 tokens a mais: “Projeto novo”' });
      expect(slack.received[0]!.verified).toBe(true);

      await x.webhooks.endpoints.update(ep.id, { active: false }, ADMIN);
      const eventId = await x.webhooks.sendTest(ep.id, ADMIN);
      await slack.waitFor(2);
      expect(slack.received[1]!.headers['x-solaris-event-id']).toBe(eventId);
      expect(slack.received[1]!.json.text).toContain('Evento de teste');
      const audit = (await te.engine.admin.auditLog({ limit: 20 })).items.map((a) => a.action);
      expect(audit).toEqual(expect.arrayContaining(['webhook.create', 'webhook.update']));
    } finally {
      await slack.close();
    }
  });

  it('two dispatchers (replicas) on one outbox deliver each event exactly once (FOR UPDATE SKIP LOCKED)', async () => {
    const rx = await new Receiver().start();
    await x.webhooks.dispatcher.stop(); // only the two "replicas" below deliver
    try {
      const ep = await x.webhooks.endpoints.create({ url: rx.url, events: ['test'] }, ADMIN);
      const ids = Array.from({ length: 40 }, (_, i) => x.webhooks.outbox.enqueue({ type: 'test', endpointId: ep.id, data: { i } }));
      await x.webhooks.outbox.flush();
      const replicas = [0, 1].map(() => new WebhookDispatcher(te.db, x.webhooks.endpoints, { ...FAST, batchSize: 5 }));
      await Promise.all(replicas.map(async (d) => {
        while ((await d.runOnce()) > 0);
      }));
      await rx.waitFor(40);
      const got = rx.received.map((r) => r.headers['x-solaris-event-id']);
      expect(new Set(got).size).toBe(40);
      expect(got).toHaveLength(40);
      expect(new Set(got)).toEqual(new Set(ids));
    } finally {
      x.webhooks.dispatcher.start();
      await rx.close();
    }
  });

  it("idle, a dispatcher waits on Postgres NOTIFY, not a 1 s poll: another replica's enqueue wakes it at once", async () => {
    const rx = await new Receiver().start();
    await x.webhooks.dispatcher.stop(); // only the idle replica below delivers
    // A safety poll of a minute: only the notification can deliver within the test.
    const idle = new WebhookDispatcher(te.db, x.webhooks.endpoints, { ...FAST, pollMs: 60_000 });
    try {
      const ep = await x.webhooks.endpoints.create({ url: rx.url, events: ['test'] }, ADMIN);
      idle.start();
      await new Promise((r) => setTimeout(r, 300)); // idle now, listening
      const queries = vi.spyOn(te.db.pool, 'query');
      await new Promise((r) => setTimeout(r, 1_500));
      expect(queries).not.toHaveBeenCalled(); // no poll while idle
      queries.mockRestore();
      // The other replica: its own outbox writer, whose in-process wake reaches no dispatcher of this one.
      const other = new OutboxWriter(te.db, x.webhooks.endpoints);
      const id = other.enqueue({ type: 'test', endpointId: ep.id, data: { from: 'replica-2' } });
      await other.flush();
      await rx.waitFor(1, 3_000);
      expect(rx.received.map((r) => r.headers['x-solaris-event-id'])).toEqual([id]);
      await other.close();
    } finally {
      await idle.stop();
      x.webhooks.dispatcher.start();
      await rx.close();
    }
  });

  it('prunes old delivered/failed rows, old delivery log entries and old markers; never a pending row', async () => {
    const q = (sql: string, p: unknown[] = []) => te.db.pool.query(sql, p);
    const old = new Date(Date.now() - 40 * 86_400_000);
    const fresh = new Date(Date.now() - 86_400_000);
    const row = async (status: string, at: Date) =>
      (
        await q(
          `INSERT INTO webhook_outbox (event_id, endpoint_id, event_type, payload, status, created_at, delivered_at, next_attempt_at)
           VALUES (gen_random_uuid(), 'prune-ep', 'test', '{}', $1, $2, CASE WHEN $1 = 'delivered' THEN $2::timestamptz END, now() + interval '1 day')
           RETURNING id`,
          [status, at],
        )
      ).rows[0].id as number;
    const ids = { oldDelivered: await row('delivered', old), oldFailed: await row('failed', old), oldPending: await row('pending', old), freshDelivered: await row('delivered', fresh) };
    await q(`INSERT INTO webhook_deliveries (outbox_id, endpoint_id, event_id, event_type, attempt, ok, duration_ms, created_at)
             VALUES (1, 'prune-ep', gen_random_uuid(), 'test', 1, true, 3, $1), (2, 'prune-ep', gen_random_uuid(), 'test', 1, true, 3, $2)`, [old, fresh]);
    await q(`INSERT INTO webhook_markers (key, created_at) VALUES ('prune:old', $1), ('prune:fresh', $2)`, [new Date(Date.now() - 90 * 86_400_000), fresh]);
    const pruned = await new WebhookDispatcher(te.db, x.webhooks.endpoints, { ...FAST, retentionDays: 30 }).prune();
    expect(pruned.outbox).toBeGreaterThanOrEqual(2);
    const left = (await q(`SELECT id FROM webhook_outbox WHERE endpoint_id = 'prune-ep' ORDER BY id`)).rows.map((r) => r.id);
    expect(left).toEqual([ids.oldPending, ids.freshDelivered]);
    expect((await q(`SELECT count(*)::int AS n FROM webhook_deliveries WHERE endpoint_id = 'prune-ep'`)).rows[0].n).toBe(1);
    expect((await q(`SELECT key FROM webhook_markers WHERE key LIKE 'prune:%'`)).rows.map((r) => r.key)).toEqual(['prune:fresh']);
    await q(`DELETE FROM webhook_outbox WHERE endpoint_id = 'prune-ep'`);
  });

  it('daily digest: once per day after the configured hour, across calls', async () => {
    main.reset();
    const u = await x.webhooks.endpoints.update(endpointId, { events: ['usage.daily_digest'] }, ADMIN);
    expect(u.events).toEqual(['usage.daily_digest']);
    x.webhooks.endpoints.invalidate();
    const at7 = Date.parse('2026-11-16T07:00:00-03:00');
    const at9 = Date.parse('2026-11-16T09:00:00-03:00');
    expect(await x.webhooks.source.maybeDigest(at7)).toBe(false); // before 08:00 local
    expect(await x.webhooks.source.maybeDigest(at9)).toBe(true);
    expect(await x.webhooks.source.maybeDigest(at9 + 3_600_000)).toBe(false);
    await main.waitFor(1);
    expect(main.received[0]!.json).toMatchObject({
      type: 'usage.daily_digest',
      data: { day: '2026-11-15', requests: 5, weightedTokens: 43_480, activeUsers: 5, pendingRequests: 1 },
    });
  });
});
