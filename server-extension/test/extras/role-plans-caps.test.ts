/**
 * Plans by LibreChat role and personal caps, on both stores (real Postgres; real Redis for the Redis store).
 */
import type { BalanceDTO, ThresholdEventDTO } from '@solaris/wire';
import { createTestEngine, type TestEngine } from '../helpers/engine';
import { createFeatureServices, type FeatureServices } from '../../src/core/feature-services';
import { isSolarisError } from '../../src/core/errors';

const ADMIN = { id: 'admin-1', email: 'admin@example.com' };

describe.each(['postgres', 'redis'] as const)('role plans and personal caps (%s store)', (store) => {
  let te: TestEngine;
  let x: FeatureServices;
  let n = 0;
  const rid = () => `r-${store}-${++n}`;

  beforeAll(async () => {
    te = await createTestEngine({ store });
    x = createFeatureServices(te.engine);
    const admin = te.engine.admin;
    await admin.upsertPlan({ id: 'padrao', name: 'Padrão', tokenLimit: 100_000, period: 'month', isDefault: true }, ADMIN);
    await admin.upsertPlan({ id: 'staff', name: 'Equipe', tokenLimit: 500_000, period: 'month' }, ADMIN);
    await admin.upsertPlan({ id: 'daily', name: 'Diário', tokenLimit: 1_000, period: 'day' }, ADMIN);
    await x.rolePlans.set({ role: 'ADMIN', planId: 'staff' }, ADMIN);
  });
  afterAll(async () => {
    await x?.close();
    await te?.cleanup();
  });

  it("a new user gets their role's plan the first time they appear; an own plan still wins", async () => {
    await te.engine.admin.touchUser({ userId: 'u-admin', email: 'boss@example.com', role: 'ADMIN' });
    await te.engine.admin.touchUser({ userId: 'u-user', email: 'user@example.com', role: 'USER' });
    const boss = await te.engine.balance('u-admin');
    expect(boss).toMatchObject({ planId: 'staff', limit: 500_000 });
    // USER has no role plan: the default plan.
    expect(await te.engine.balance('u-user')).toMatchObject({ planId: 'padrao', limit: 100_000 });

    // The ledger's period key follows the effective plan too (a day plan for the role → a day key).
    await x.rolePlans.set({ role: 'INTERN', planId: 'daily' }, ADMIN);
    await te.engine.admin.touchUser({ userId: 'u-intern', role: 'INTERN' });
    const s = await te.engine.settle({ requestId: rid(), userId: 'u-intern', model: 'm', promptTokens: 10, completionTokens: 5, source: 'proxy' });
    expect(s.entry.periodKey).toBe('2026-11-15');
    expect(s.balance).toMatchObject({ planId: 'daily', periodKind: 'day', limit: 1_000, used: 15 });

    await te.engine.admin.assignPlan({ userId: 'u-admin', planId: 'padrao' }, ADMIN);
    expect(await te.engine.balance('u-admin')).toMatchObject({ planId: 'padrao', limit: 100_000 });

    // Admin list shows the effective plan through the same SQL function.
    const page = await te.engine.admin.listUsers({ q: 'u-intern' });
    expect(page.items[0]!.balance.planId).toBe('daily');
  });

  it('a role change (or a new role plan) reaches a cached counter at once', async () => {
    await te.engine.admin.touchUser({ userId: 'u-promo', role: 'USER' });
    expect((await te.engine.balance('u-promo')).limit).toBe(100_000); // counter built (cached in Redis)
    await te.engine.admin.touchUser({ userId: 'u-promo', role: 'ADMIN' });
    expect(await te.engine.balance('u-promo')).toMatchObject({ planId: 'staff', limit: 500_000 });

    await x.rolePlans.set({ role: 'USER', planId: 'daily' }, ADMIN);
    expect((await te.engine.balance('u-user')).limit).toBe(1_000);
    await x.rolePlans.remove('USER', ADMIN);
    expect((await te.engine.balance('u-user')).limit).toBe(100_000);

    const audit = await te.engine.admin.auditLog({ limit: 200 });
    expect(audit.items.filter((a) => a.action === 'role_plan.set').map((a) => a.details.role)).toEqual(expect.arrayContaining(['ADMIN', 'USER', 'INTERN']));
    expect(audit.items.some((a) => a.action === 'role_plan.remove' && a.details.role === 'USER')).toBe(true);
    expect(await x.rolePlans.list()).toEqual([
      expect.objectContaining({ role: 'ADMIN', planId: 'staff', updatedBy: ADMIN.id }),
      expect.objectContaining({ role: 'INTERN', planId: 'daily' }),
    ]);
    await expect(x.rolePlans.set({ role: 'X', planId: 'nope' }, ADMIN)).rejects.toMatchObject({ code: 'not_found' });
  });

  it('a personal cap lowers the limit that reserve enforces, and shows in the balance', async () => {
    const u = 'u-cap';
    await te.engine.admin.touchUser({ userId: u, role: 'USER' });
    await te.engine.settle({ requestId: rid(), userId: u, model: 'm', promptTokens: 3_000, completionTokens: 0, source: 'proxy' });
    const settings = await x.settings.set(u, { personalCap: 5_000, warnPercent: 50 }, { id: u });
    expect(settings).toMatchObject({ personalCap: 5_000, warnPercent: 50, maxPersonalCap: 100_000, defaultThresholds: [80, 100] });
    expect(settings.balance).toMatchObject({ limit: 5_000, personalCap: 5_000, warnPercent: 50, thresholds: [50, 80, 100], remaining: 2_000, state: 'warning' });

    // 2,500 would fit the plan (97,000 left) but not the personal cap (2,000 left).
    const refused = await te.engine.reserve({ userId: u, requestId: rid(), estimate: 2_500 });
    expect(refused).toMatchObject({ ok: false, outcome: 'quota_exceeded' });
    const ok = await te.engine.reserve({ userId: u, requestId: rid(), estimate: 1_500 });
    expect(ok.ok).toBe(true);

    // Clearing the cap gives the quota back.
    const cleared = await x.settings.set(u, { personalCap: null, warnPercent: null }, { id: u });
    expect(cleared.balance.limit).toBe(100_000);
    expect(cleared.balance.personalCap).toBeUndefined();
    expect(cleared.balance.thresholds).toEqual([80, 100]);
    expect((await te.engine.reserve({ userId: u, requestId: rid(), estimate: 2_500 })).ok).toBe(true);
  });

  it('a personal cap bounds the whole capacity, grants included', async () => {
    const u = 'u-cap-grants';
    await te.engine.admin.touchUser({ userId: u, role: 'USER' });
    await te.engine.admin.grant({ userId: u, tokens: 50_000, reason: 'extra' }, { id: 'admin' });
    // Quota 100,000 + grants 50,000: a cap of 120,000 (between the two) must bind.
    const s = await x.settings.set(u, { personalCap: 120_000, warnPercent: null }, { id: u });
    expect(s.balance.limit + s.balance.granted).toBe(120_000);
    expect(s.balance.remaining).toBe(120_000);
    expect((await te.engine.reserve({ userId: u, requestId: rid(), estimate: 120_001 })).outcome).toBe('quota_exceeded');
    expect((await te.engine.reserve({ userId: u, requestId: rid(), estimate: 120_000 })).ok).toBe(true);
  });

  it("the user's own warning percentage fires the threshold event", async () => {
    const u = 'u-warn';
    await x.settings.set(u, { personalCap: null, warnPercent: 30 }, { id: u });
    const fired: ThresholdEventDTO[] = [];
    const on = (e: ThresholdEventDTO) => e.userId === u && fired.push(e);
    te.engine.events.on('threshold', on);
    await te.engine.settle({ requestId: rid(), userId: u, model: 'm', promptTokens: 31_000, completionTokens: 0, source: 'proxy' });
    te.engine.events.off('threshold', on);
    expect(fired.map((f) => f.threshold)).toEqual([30]);
    expect(fired[0]!.balance.state).toBe('warning');
  });

  it('settings are validated: cap within quota + grants, warning 1..99', async () => {
    const u = 'u-valid';
    const err = async (input: unknown) => {
      try {
        await x.settings.set(u, input, { id: u });
      } catch (e) {
        if (isSolarisError(e)) return { code: e.code, message: e.message };
        throw e;
      }
      return null;
    };
    expect(await err({ personalCap: 100_001, warnPercent: null })).toMatchObject({ code: 'invalid_input', message: expect.stringContaining('personalCap') });
    expect(await err({ personalCap: -1, warnPercent: null })).toMatchObject({ code: 'invalid_input' });
    expect(await err({ personalCap: null, warnPercent: 0 })).toMatchObject({ code: 'invalid_input', message: expect.stringContaining('warnPercent') });
    expect(await err({ personalCap: null, warnPercent: 100 })).toMatchObject({ code: 'invalid_input' });
    expect(await err({ personalCap: 1.5, warnPercent: null })).toMatchObject({ code: 'invalid_input' });
    // Grants raise the ceiling.
    await te.engine.admin.grant({ userId: u, tokens: 10_000 }, ADMIN);
    expect(await err({ personalCap: 110_000, warnPercent: null })).toBeNull();
    const b: BalanceDTO = await te.engine.balance(u);
    expect(b).toMatchObject({ limit: 100_000, granted: 10_000, personalCap: 110_000 });
    const audit = await te.engine.admin.auditLog({ limit: 5 });
    expect(audit.items[0]).toMatchObject({ action: 'personal.settings', actorId: u, targetUserId: u });
  });
});
