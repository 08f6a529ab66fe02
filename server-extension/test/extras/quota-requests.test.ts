/**
 * Quota requests on the real engine (Redis store, real Postgres): open → approve → grant + audit + events,
 * deny, one open request per user, auto-approval limits, suggestion.
 */
import type { QuotaRequestDecidedEventDTO, QuotaRequestEventDTO } from '@solaris/wire';
import { createTestEngine, testClock, type TestEngine } from '../helpers/engine';
import { createTestDb } from '../helpers/infra';
import { createEngine } from '../../src/core/create-engine';
import { createFeatureServices, type FeatureServices } from '../../src/core/feature-services';

const ADMIN = { id: 'admin-1', email: 'admin@example.com' };

let te: TestEngine;
let x: FeatureServices;
let n = 0;
const rid = () => `q-${++n}`;
const adminEvents: QuotaRequestEventDTO[] = [];
const userEvents: QuotaRequestDecidedEventDTO[] = [];

beforeAll(async () => {
  te = await createTestEngine({ store: 'redis' });
  x = createFeatureServices(te.engine);
  await te.engine.admin.upsertPlan({ id: 'padrao', name: 'Padrão', tokenLimit: 10_000, period: 'month', isDefault: true }, ADMIN);
  await te.engine.admin.upsertPlan({ id: 'small', name: 'Pequeno', tokenLimit: 1_000, period: 'month' }, ADMIN);
  te.engine.events.on('request', (e) => adminEvents.push(e));
  te.engine.events.on('request_decided', (e) => userEvents.push(e));
});
afterAll(async () => {
  await x?.close();
  await te?.cleanup();
});

async function exhaust(userId: string, tokens: number) {
  await te.engine.settle({ requestId: rid(), userId, model: 'm', promptTokens: tokens, completionTokens: 0, source: 'proxy' });
}

describe('quota requests', () => {
  it('blocked user asks → admin approves with an edited amount → grant, audit, live events, next chat passes', async () => {
    const u = 'alice';
    await te.engine.admin.touchUser({ userId: u, email: 'alice@example.com', role: 'USER' });
    await exhaust(u, 10_000);
    expect((await te.engine.reserve({ userId: u, requestId: rid(), estimate: 500 })).ok).toBe(false);

    const req = await x.requests.open(u, { tokens: 5_000, reason: 'Relatório do trimestre' });
    expect(req).toMatchObject({ userId: u, email: 'alice@example.com', tokens: 5_000, status: 'pending', periodKey: '2026-11' });
    expect(adminEvents.at(-1)).toMatchObject({ request: { id: req.id, status: 'pending' }, pendingCount: 1 });
    expect((await x.requests.list()).pendingCount).toBe(1);

    const expiresAt = new Date(te.clock() + 7 * 86_400_000).toISOString();
    const approved = await x.requests.approve(req.id, { tokens: 3_000, expiresAt, message: 'Bom trabalho' }, ADMIN);
    expect(approved).toMatchObject({ status: 'approved', grantedTokens: 3_000, decidedBy: ADMIN.id, message: 'Bom trabalho' });

    const decided = userEvents.at(-1)!;
    expect(decided.request.id).toBe(req.id);
    expect(decided.balance).toMatchObject({ userId: u, granted: 3_000, remaining: 3_000, state: 'ok' });
    expect(decided.message).toBe('Seu pedido de tokens foi aprovado: +3.000 tokens. Mensagem do administrador: Bom trabalho');
    expect(adminEvents.at(-1)).toMatchObject({ request: { id: req.id, status: 'approved' }, pendingCount: 0 });

    // The blocked user's next chat passes.
    expect((await te.engine.reserve({ userId: u, requestId: rid(), estimate: 500 })).ok).toBe(true);

    const detail = await te.engine.admin.userDetail(u);
    expect(detail.adjustments[0]).toMatchObject({ kind: 'grant', tokens: 3_000, reason: `Pedido #${req.id}`, createdBy: ADMIN.id });
    const audit = (await te.engine.admin.auditLog({ limit: 10 })).items.map((a) => a.action);
    expect(audit).toEqual(expect.arrayContaining(['request.open', 'request.approve', 'grant']));

    // Deciding twice is a conflict (two admins clicking at once grant once).
    await expect(x.requests.approve(req.id, {}, ADMIN)).rejects.toMatchObject({ code: 'conflict' });
    await expect(x.requests.deny(req.id, {}, ADMIN)).rejects.toMatchObject({ code: 'conflict' });
  });

  it('two admins approving the same request at once: one grant', async () => {
    const u = 'race';
    const req = await x.requests.open(u, { tokens: 700 });
    const results = await Promise.allSettled([x.requests.approve(req.id, {}, ADMIN), x.requests.approve(req.id, {}, { id: 'admin-2' })]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect((await te.engine.balance(u)).granted).toBe(700);
  });

  it('deny path: message reaches the user in pt-BR, no grant, audited', async () => {
    const u = 'bob';
    const req = await x.requests.open(u, { tokens: 2_000, reason: null });
    const denied = await x.requests.deny(req.id, { message: 'Orçamento esgotado' }, ADMIN);
    expect(denied).toMatchObject({ status: 'denied', grantedTokens: null, message: 'Orçamento esgotado' });
    expect(userEvents.at(-1)!.message).toBe('Seu pedido de 2.000 tokens foi negado. Mensagem do administrador: Orçamento esgotado');
    expect((await te.engine.balance(u)).granted).toBe(0);
    expect((await te.engine.admin.auditLog({ limit: 1 })).items[0]).toMatchObject({ action: 'request.deny', targetUserId: u, details: { message: 'Orçamento esgotado' } });
  });

  it('one open request per user (also under concurrency); cancel frees the slot; others cannot cancel it', async () => {
    const u = 'carol';
    const results = await Promise.allSettled([1, 2, 3, 4].map(() => x.requests.open(u, { tokens: 1_000 })));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason.code)).toEqual(['conflict', 'conflict', 'conflict']);
    const open = (await x.requests.listMine(u))[0]!;
    await expect(x.requests.cancel('mallory', open.id)).rejects.toMatchObject({ code: 'not_found' });
    expect((await x.requests.cancel(u, open.id)).status).toBe('cancelled');
    expect((await x.requests.open(u, { tokens: 1_000 })).status).toBe('pending');
    await expect(x.requests.open(u, { tokens: 0 })).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(x.requests.approve('abc', {}, ADMIN)).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(x.requests.approve('999999', {}, ADMIN)).rejects.toMatchObject({ code: 'not_found' });
  });

  it('auto-approval: up to N tokens, once per period; bigger or second requests wait for an admin', async () => {
    await x.rolePlans.setAutoApprove({ planId: 'small', tokens: 500 }, ADMIN);
    const u = 'dave';
    await te.engine.admin.assignPlan({ userId: u, planId: 'small' }, ADMIN);
    const sug = await x.requests.suggestion(u);
    expect(sug).toMatchObject({ autoApproveTokens: 500, autoApproveAvailable: true, open: null });

    const big = await x.requests.open(u, { tokens: 800 });
    expect(big.status).toBe('pending');
    await x.requests.cancel(u, big.id);

    const small = await x.requests.open(u, { tokens: 400 });
    expect(small).toMatchObject({ status: 'approved', autoApproved: true, grantedTokens: 400, decidedBy: 'system:auto-approve' });
    expect(userEvents.at(-1)!.message).toBe('Seu pedido de 400 tokens foi aprovado automaticamente.');
    expect((await te.engine.balance(u)).granted).toBe(400);

    const again = await x.requests.open(u, { tokens: 100 });
    expect(again.status).toBe('pending'); // once per period
    expect((await x.requests.suggestion(u)).autoApproveAvailable).toBe(false);
    await x.requests.deny(again.id, {}, ADMIN);

    // Next month: available again.
    te.clock.set('2026-12-02T12:00:00-03:00');
    const next = await x.requests.open(u, { tokens: 500 });
    expect(next).toMatchObject({ status: 'approved', autoApproved: true, periodKey: '2026-12' });
    expect((await te.engine.admin.auditLog({ limit: 3 })).items.map((a) => a.action)).toContain('request.auto_approve');
    te.clock.set('2026-11-15T12:00:00-03:00');
  });

  it('suggestion: average daily use of the last 7 days × days left, minus what is left, at least the floor', async () => {
    const u = 'erin';
    // 700 tokens/day for 7 days = 4,900 → avg 700; Nov 15 12:00 → Dec 1 00:00 (-03) = 15.5 days → 16 days.
    for (let d = 1; d <= 7; d++) {
      await te.engine.settle({ requestId: rid(), userId: u, model: 'm', promptTokens: 700, completionTokens: 0, source: 'proxy', occurredAt: te.clock() - d * 86_400_000 + 3_600_000 });
    }
    const s = await x.requests.suggestion(u);
    // used this period: 4,900 (all in November) → remaining 5,100; need = 700 × 16 − 5,100 = 6,100 → 7,000 (rounded up to 1,000).
    expect(s).toMatchObject({ avgDailyUse: 700, daysLeft: 16, minimum: 1_000, tokens: 7_000, autoApproveTokens: null });
    // A user without use gets the floor.
    expect((await x.requests.suggestion('nobody')).tokens).toBe(1_000);
  });

  it('works on a one-connection database (the embedded default): approving never waits on itself', async () => {
    const db = await createTestDb({ max: 1 });
    const rt = await createEngine({ config: te.config, db, redis: null, clock: testClock(), migrate: false });
    try {
      const ex = createFeatureServices(rt.engine);
      const req = await ex.requests.open('solo', { tokens: 1_234 });
      const approved = await Promise.race([
        ex.requests.approve(req.id, {}, ADMIN),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('approve hung')), 5_000)),
      ]);
      expect(approved.status).toBe('approved');
      expect((await rt.engine.balance('solo')).granted).toBe(1_234);
      await ex.close();
    } finally {
      await rt.close();
      await db.drop();
    }
  });
});
