/**
 * The embedded default: no DATABASE_URL and no REDIS_URL → an embedded PGlite (served over the Postgres wire
 * protocol by pglite-socket) in SOLARIS_DATA_DIR, migrated at start, with the PostgresQuotaStore.
 */
import { mkdtempSync, rmSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/core/config';
import { createEngine, type EngineRuntime } from '../src/core/create-engine';
import { testClock } from './helpers/engine';

describe('embedded default (PGlite, Postgres store)', () => {
  let dir: string;
  let rt: EngineRuntime | undefined;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'solaris-embedded-'));
  });
  afterAll(async () => {
    await rt?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts, migrates, and reserve / settle / balance work; periods follow America/Sao_Paulo', async () => {
    const clock = testClock('2026-11-30T23:30:00-03:00'); // 02:30 UTC on 1 December: still November in São Paulo
    rt = await createEngine({ config: loadConfig({ SOLARIS_DATA_DIR: dir }), clock });
    expect(rt.db.embedded).toBe(true);
    expect(rt.redis).toBeNull();
    expect(rt.engine.store.kind).toBe('postgres');
    expect(readdirSync(dir).length).toBeGreaterThan(0); // PGlite files on disk

    const { engine } = rt;
    const before = await engine.balance('emb-user');
    expect(before).toMatchObject({ planId: 'padrao', limit: 100000, used: 0, periodKey: '2026-11', periodEnd: '2026-12-01T03:00:00.000Z' });
    const r = await engine.reserve({ userId: 'emb-user', requestId: 'e1', estimate: 500 });
    expect(r).toMatchObject({ ok: true, outcome: 'reserved' });
    expect(r.balance.reserved).toBe(500);
    const s = await engine.settle({ userId: 'emb-user', requestId: 'e1', model: 'm', promptTokens: 100, completionTokens: 20, source: 'proxy' });
    expect(s.duplicate).toBe(false);
    expect(s.entry).toMatchObject({ periodKey: '2026-11', totalTokens: 120 });
    expect((await engine.settle({ userId: 'emb-user', requestId: 'e1', model: 'm', promptTokens: 100, completionTokens: 20, source: 'proxy' })).duplicate).toBe(true);
    expect(await engine.balance('emb-user')).toMatchObject({ used: 120, reserved: 0, remaining: 99880 });
    // A pool of one over PGlite's single session: parallel calls queue instead of failing.
    const parallel = await Promise.all(
      Array.from({ length: 10 }, (_, i) => engine.settle({ userId: 'emb-user', requestId: `p${i}`, model: 'm', promptTokens: 1, completionTokens: 0, source: 'proxy' })),
    );
    expect(parallel.every((p) => !p.duplicate)).toBe(true);
    expect((await engine.balance('emb-user')).used).toBe(130);
    const page = await engine.statement('emb-user', { limit: 5 });
    expect(page.items).toHaveLength(5);
    expect(page.totals.requests).toBe(11);
    clock.set('2026-12-01T00:00:01-03:00');
    expect(await engine.balance('emb-user')).toMatchObject({ periodKey: '2026-12', used: 0 });
  }, 60_000);

  it('a restart on the same data dir keeps the ledger and does not re-apply migrations', async () => {
    await rt!.close();
    rt = await createEngine({ config: loadConfig({ SOLARIS_DATA_DIR: dir }), clock: testClock('2026-11-30T23:40:00-03:00') });
    expect((await rt.engine.balance('emb-user')).used).toBe(130);
  }, 60_000);
});
