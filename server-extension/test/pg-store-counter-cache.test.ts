/**
 * The Postgres store's counter row (quota_counters, migrations/1765000000000): built once, moved by each
 * settlement, and dropped by triggers whenever ANY path changes an input of the snapshot — here changed by
 * raw SQL or by another ledger writer, never through the admin API (which would also call invalidate()).
 * Real Postgres; the clock is injected.
 */
import { createTestEngine, type TestEngine } from './helpers/engine';
import { insertLedgerRows } from '../src/core/ledger';
import type { Settlement } from '../src/core/quota-store';

const ADMIN = { id: 'admin-1' };

describe('Postgres store counter cache', () => {
  let t: TestEngine;
  let n = 0;
  const uid = () => `cc-user-${++n}`;
  const q = (sql: string, values: unknown[] = []) => t.db.pool.query(sql, values);
  const builtAt = async (u: string) =>
    (await q(`SELECT built_at FROM quota_counters WHERE user_id = $1`, [u])).rows[0]?.built_at as Date | undefined;
  const ledgerUsed = async (u: string) =>
    Number((await q(`SELECT COALESCE(sum(weighted_tokens), 0) AS s FROM ledger WHERE user_id = $1`, [u])).rows[0].s);
  const step = async (u: string, id: string, prompt = 10, completion = 5) => {
    expect((await t.engine.reserve({ userId: u, requestId: id, estimate: 50 })).ok).toBe(true);
    await t.engine.settle({ userId: u, requestId: id, model: 'm', promptTokens: prompt, completionTokens: completion, source: 'proxy' });
  };

  beforeAll(async () => {
    t = await createTestEngine({ store: 'postgres' });
    await t.engine.admin.upsertPlan({ id: 'mini', name: 'Mini', tokenLimit: 1000, period: 'month' }, ADMIN);
  });
  afterAll(async () => t?.cleanup());

  it('is built once and then moved by each settlement, equal to the ledger', async () => {
    const u = uid();
    await t.engine.balance(u);
    const first = await builtAt(u);
    expect(first).toBeInstanceOf(Date);
    t.clock.advance(1000);
    for (let i = 0; i < 5; i++) await step(u, `${u}-r${i}`);
    expect(await builtAt(u)).toEqual(first); // not rebuilt by any step
    const b = await t.engine.balance(u);
    expect(b.used).toBe(75);
    expect(b.used).toBe(await ledgerUsed(u));
    // A replay moves nothing.
    await t.engine.settle({ userId: u, requestId: `${u}-r0`, model: 'm', promptTokens: 10, completionTokens: 5, source: 'proxy' });
    expect((await t.engine.balance(u)).used).toBe(75);
  });

  it('sees ledger rows written by another writer (batch ingest)', async () => {
    const u = uid();
    const other = uid();
    await step(u, `${u}-a`);
    await step(other, `${other}-a`);
    const rows: Settlement[] = [u, u, other].map((userId, i) => ({
      requestId: `${u}-ingest-${i}`, userId, model: 'm', promptTokens: 100, completionTokens: 0, weightedTokens: 100,
      cost: 0, source: 'litellm', estimated: false, occurredAt: t.clock(),
    }));
    await insertLedgerRows(t.db.pool, rows, t.config.SOLARIS_TIMEZONE);
    expect((await t.engine.balance(u)).used).toBe(15 + 200);
    expect((await t.engine.balance(other)).used).toBe(15 + 100);
  });

  it('sees grants, resets, overrides and plan edits made in raw SQL', async () => {
    const u = uid();
    await t.engine.admin.assignPlan({ userId: u, planId: 'mini' }, ADMIN);
    await step(u, `${u}-a`);
    expect(await t.engine.balance(u)).toMatchObject({ limit: 1000, granted: 0, used: 15 });

    await q(`INSERT INTO adjustments (user_id, kind, tokens, period_key) VALUES ($1, 'grant', 500, '2026-11')`, [u]);
    expect((await t.engine.balance(u)).granted).toBe(500);

    await q(`UPDATE plans SET token_limit = 2000 WHERE id = 'mini'`);
    expect((await t.engine.balance(u)).limit).toBe(2000);

    await q(`UPDATE user_quotas SET limit_override = 700 WHERE user_id = $1`, [u]);
    expect((await t.engine.balance(u)).limit).toBe(700);

    t.clock.advance(1000);
    await q(`INSERT INTO adjustments (user_id, kind, period_key, created_at) VALUES ($1, 'reset', '2026-11', $2)`, [u, new Date(t.clock())]);
    t.clock.advance(1000);
    expect((await t.engine.balance(u)).used).toBe(0);
    await step(u, `${u}-b`);
    expect((await t.engine.balance(u)).used).toBe(15);
    await q(`UPDATE plans SET token_limit = 1000 WHERE id = 'mini'`);
  });

  it('follows a LibreChat role change, but not a visit that leaves the role alone', async () => {
    const u = uid();
    await q(`INSERT INTO users_cache (user_id, role) VALUES ($1, 'USER')`, [u]);
    await q(`INSERT INTO role_plans (role, plan_id) VALUES ('PRO', 'mini') ON CONFLICT (role) DO UPDATE SET plan_id = 'mini'`);
    expect((await t.engine.balance(u)).planId).toBe('padrao');
    const before = await builtAt(u);
    await q(`UPDATE users_cache SET role = 'USER', last_seen_at = now() WHERE user_id = $1`, [u]);
    expect(await builtAt(u)).toEqual(before);
    await q(`UPDATE users_cache SET role = 'PRO' WHERE user_id = $1`, [u]);
    expect(await builtAt(u)).toBeUndefined();
    expect((await t.engine.balance(u)).planId).toBe('mini');
  });

  it('a lost counter table (as after a crash: UNLOGGED) is rebuilt from the ledger', async () => {
    const u = uid();
    for (let i = 0; i < 3; i++) await step(u, `${u}-r${i}`);
    const before = await t.engine.balance(u);
    await q(`TRUNCATE quota_counters`);
    expect(await t.engine.balance(u)).toEqual(before);
    // Lost reservations are released holds: the next request reserves and settles normally.
    await t.engine.reserve({ userId: u, requestId: `${u}-held`, estimate: 50 });
    await q(`TRUNCATE quota_reservations`);
    expect((await t.engine.balance(u)).reserved).toBe(0);
    await step(u, `${u}-after`);
    expect((await t.engine.balance(u)).used).toBe(before.used + 15);
    // Both hot tables skip the WAL: a crash empties them, and that is a state the store recovers from.
    const { rows } = await q(
      `SELECT relname, relpersistence FROM pg_class WHERE relname IN ('quota_counters', 'quota_reservations')
         AND relkind = 'r' AND relnamespace = current_schema()::regnamespace ORDER BY relname`,
    );
    expect(rows).toEqual([{ relname: 'quota_counters', relpersistence: 'u' }, { relname: 'quota_reservations', relpersistence: 'u' }]);
  });

  it('a new period rebuilds it', async () => {
    const u = uid();
    await step(u, `${u}-a`);
    expect((await t.engine.balance(u)).periodKey).toBe('2026-11');
    t.clock.set('2026-12-01T00:00:01-03:00');
    expect(await t.engine.balance(u)).toMatchObject({ periodKey: '2026-12', used: 0 });
    t.clock.set('2026-11-20T12:00:00-03:00');
    expect(await t.engine.balance(u)).toMatchObject({ periodKey: '2026-11', used: 15 });
  });
});
