/**
 * Postgres outage under load (6 s here; the 30 s only stretches the same path): two standalone
 * processes reach Postgres through a TCP proxy we cut and restore. Settlements are buffered in the Redis
 * outbox and written once Postgres is back — nothing lost, nothing duplicated; the pre-flight obeys
 * SOLARIS_FAIL_MODE (replica A closed, replica B open); /readyz reports the outage.
 */
import { Redis } from 'ioredis';
import { loadConfig } from '../../src/core/config';
import { createEngine, type EngineRuntime } from '../../src/core/create-engine';
import { startFakeUpstream, type FakeUpstream } from '../../src/dev/fake-upstream';
import { createTestDb, TEST_DATABASE_URL, type TestDb } from '../helpers/infra';
import { sleep, startFaultProxy, startPrivateRedis, type FaultProxy, type PrivateRedis } from './faults';
import { buildStandalone, chat, count, ledgerRows, runLoad, startReplica, upstreamUsage, type Replica, type RequestResult } from './cluster';

const OUTAGE_MS = 6_000;
let db: TestDb;
let redis: PrivateRedis;
let fake: FakeUpstream;
let fault: FaultProxy;
let bundle: { file: string; remove(): void };
let replicas: Replica[] = [];
let admin: EngineRuntime;

beforeAll(async () => {
  const target = new URL(TEST_DATABASE_URL);
  [db, redis, fake, bundle, fault] = await Promise.all([
    createTestDb(),
    startPrivateRedis(),
    startFakeUpstream({ chunks: 20, chunkDelayMs: 15 }),
    buildStandalone('pgoutage'),
    startFaultProxy({ host: target.hostname, port: Number(target.port || 5432) }),
  ]);
  const viaFault = new URL(db.childEnvUrl);
  viaFault.port = String(fault.port);
  const env = { DATABASE_URL: viaFault.toString(), REDIS_URL: redis.url, LITELLM_URL: fake.url };
  replicas = await Promise.all([
    startReplica(bundle.file, { ...env, SOLARIS_FAIL_MODE: 'closed' }),
    startReplica(bundle.file, { ...env, SOLARIS_FAIL_MODE: 'open' }),
  ]);
  admin = await createEngine({ config: loadConfig({ DATABASE_URL: db.childEnvUrl }), db, redis: new Redis(redis.url, { maxRetriesPerRequest: 2 }) });
});
afterAll(async () => {
  await Promise.all(replicas.map((r) => r.kill()));
  await admin?.engine.close();
  admin?.redis?.disconnect();
  await fake?.close();
  await fault?.close();
  await redis?.stop();
  bundle?.remove();
  await db?.drop();
});

async function readyz(r: Replica) {
  const res = await fetch(r.url + '/readyz');
  return { status: res.status, body: (await res.json()) as { checks: Record<string, string> } };
}

describe(`Postgres outage (${OUTAGE_MS / 1000} s) under load over two server processes`, () => {
  it('buffers settlements durably, writes them once when Postgres is back; fail mode and /readyz hold', async () => {
    const userId = 'pg-outage-user';
    await admin.engine.admin.setLimitOverride({ userId, limit: 10_000_000 }, { id: 'reliability' });
    await admin.engine.balance(userId); // warm: the user's counter is in Redis before the outage
    const spec = { content: 'Escreva um resumo do contrato.', maxTokens: 64 };
    let cutAt = 0;
    let restoredAt = 0;
    let outage: Promise<{ ready: Awaited<ReturnType<typeof readyz>>[]; cold: RequestResult[]; peakBacklog: number; drainedMs: number }> | null = null;

    const results = await runLoad({
      total: 420,
      concurrency: 20,
      userId,
      prefix: 'pg',
      spec,
      replicaUrl: (i) => ({ url: replicas[i % 2]!.url, index: i % 2 }),
      onStarted: (i) => {
        if (i !== 60) return;
        fault.cut();
        cutAt = Date.now();
        outage = (async () => {
          await sleep(1_000);
          const ready = [await readyz(replicas[0]!), await readyz(replicas[1]!)];
          // A user whose counter is not in Redis cannot be decided without Postgres: the fail mode decides.
          const cold = [
            await chat(replicas[0]!.url, 0, 'pg-cold-user', 'cold-a', spec),
            await chat(replicas[1]!.url, 1, 'pg-cold-user', 'cold-b', spec),
          ];
          // The backlog, sampled through the outage (one sample could fall between the served requests' settlements).
          let peakBacklog = 0;
          while (Date.now() - cutAt < OUTAGE_MS) {
            peakBacklog = Math.max(peakBacklog, await outboxBacklog());
            await sleep(100);
          }
          fault.restore();
          restoredAt = Date.now();
          // Recovery: time until the drainers emptied the outbox.
          while ((await outboxBacklog()) > 0) {
            if (Date.now() - restoredAt > 20_000) throw new Error('outbox not drained within 20 s');
            await sleep(50);
          }
          return { ready, cold, peakBacklog, drainedMs: Date.now() - restoredAt };
        })();
      },
    });
    expect(outage).not.toBeNull();
    const during = await outage!;
    // Drained: the outbox empties and the ledger holds every acknowledged request.
    const completed = results.filter((r) => r.outcome === 'completed');
    for (;;) {
      const [len, rows] = await Promise.all([outboxBacklog(), ledgerRows(db.pool, userId)]);
      if (len === 0 && rows.length >= completed.length) break;
      if (Date.now() - restoredAt > 20_000) throw new Error(`outbox not drained: ${len} left, ${rows.length}/${completed.length} rows`);
      await sleep(100);
    }

    expect(during.ready.map((r) => r.status)).toEqual([503, 503]);
    expect(during.ready[0]!.body.checks.postgres).toBe('down');
    expect(during.cold.map((r) => r.outcome)).toEqual(['unavailable', 'completed']); // closed → 503, open → served
    expect(during.peakBacklog).toBeGreaterThan(0);

    const rows = await ledgerRows(db.pool, userId);
    const byId = new Map(rows.map((r) => [r.request_id, r]));
    const upstream = upstreamUsage(fake);
    for (const r of completed) {
      const u = upstream.get(r.requestId)!;
      expect(byId.get(r.requestId), r.key).toMatchObject({ prompt_tokens: u.prompt, completion_tokens: u.completion, estimated: false });
    }
    expect(rows).toHaveLength(completed.length); // nothing duplicated, nothing extra
    const c = count(results);
    expect(c.failed + c.refused).toBe(0); // a warm user was served throughout by the fail-open replica
    // Its requests carry X-Solaris-Request-Id: with the key store (Postgres) down the fail-closed replica refuses
    // them (a first request cannot be told from a replay), the fail-open one serves them
    // (docs/reservation-policy.md, "Replays").
    expect(results.filter((r) => r.outcome === 'unavailable').every((r) => r.replica === 0)).toBe(true);
    const balance = await admin.engine.balance(userId);
    expect(balance.used).toBe(rows.reduce((a, r) => a + Number(r.weighted_tokens), 0));
    expect(balance.reserved).toBe(0);
    // Fail open means unmetered: the cold user's request served during the outage is not in the ledger.
    expect(await ledgerRows(db.pool, 'pg-cold-user')).toHaveLength(0);
    await vi.waitFor(async () => expect((await readyz(replicas[0]!)).status).toBe(200), { timeout: 10_000, interval: 200 });
    const { rows: dr } = await db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ledger WHERE user_id = $1 AND created_at >= to_timestamp($2 / 1000.0) AND created_at < to_timestamp($3 / 1000.0)`,
      [userId, cutAt, restoredAt],
    );
    const settledDuring = dr[0]!.n;
    expect(settledDuring).toBeGreaterThan(0);
    console.info(
      `[reliability] postgres-outage: ${OUTAGE_MS} ms cut under 420 streams (20 concurrent) over 2 processes → ${c.completed} served, ${c.unavailable} keyed requests refused by the fail-closed replica while the key store was down, 0 failed; ` +
        `outbox peak ≥ ${during.peakBacklog} entries, ${settledDuring} rows settled while Postgres was down (all via the outbox); outbox empty ${during.drainedMs} ms after Postgres was back; ` +
        `ledger ${rows.length} rows = acknowledged; /readyz 503 (postgres down) during; cold user: closed 503, open served unmetered`,
    );
  }, 120_000);
});

/** Rows waiting in the one outbox: the users' streams sq:{u}:o (one Redis node here). */
async function outboxBacklog(): Promise<number> {
  const r = admin.redis!;
  let total = 0;
  let cursor = '0';
  do {
    const [next, keys] = (await r.call('SCAN', cursor, 'MATCH', 'sq:{*}:o', 'COUNT', 1000, 'TYPE', 'stream')) as [string, string[]];
    cursor = next;
    for (const k of keys) total += await r.xlen(k);
  } while (cursor !== '0');
  return total;
}
