/**
 * Two separate Node processes ("replicas") sharing one Postgres and one Redis: 200 parallel reserve+settle
 * calls for one user whose limit allows 100, split over both → exactly 100 allowed in total and the
 * counter equals the ledger sum. For the Redis store (ledger ack, and outbox ack on a Redis with AOF, both
 * processes draining) and for the Postgres store.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { createTestEngine, type TestEngine } from './helpers/engine';
import { TEST_REDIS_URL } from './helpers/infra';
import { startAofRedis, type AofRedis } from '../src/dev/redis-server';

const root = resolve(__dirname, '../..');
let bundleDir: string;
let worker: string;

beforeAll(async () => {
  bundleDir = mkdtempSync(join(tmpdir(), 'solaris-worker-'));
  worker = join(bundleDir, 'quota-worker.cjs');
  await build({
    entryPoints: [join(__dirname, 'fixtures/quota-worker.ts')],
    outfile: worker,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    packages: 'external',
    // Our own workspaces are TypeScript: bundle @solaris/wire instead of leaving a require() to a .ts file.
    plugins: [{ name: 'wire', setup: (b) => b.onResolve({ filter: /^@solaris\/wire(\/[a-z-]+)?$/ }, (a) => ({ path: join(root, `wire/${a.path.split('/')[2] ?? 'index'}.ts`) })) }],
    loader: { '.lua': 'text' },
    define: { 'import.meta.url': 'importMetaUrl' },
    banner: { js: "const importMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
    logLevel: 'error',
  });
});
afterAll(() => rmSync(bundleDir, { recursive: true, force: true }));

function runWorker(env: Record<string, string>): { ready: Promise<void>; go(): void; done: Promise<number> } {
  const child = fork(worker, [], {
    env: { ...process.env, NODE_PATH: join(root, 'node_modules'), ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let readyResolve!: () => void;
  const ready = new Promise<void>((r) => (readyResolve = r));
  const done = new Promise<number>((resolveDone, reject) => {
    child.on('message', (m: { ready?: boolean; allowed?: number }) => {
      if (m.ready) readyResolve();
      if (typeof m.allowed === 'number') resolveDone(m.allowed);
    });
    child.on('exit', (code) => (code === 0 ? undefined : reject(new Error(`worker exited with ${code}`))));
    child.on('error', reject);
  });
  return { ready, go: () => child.send('go'), done };
}

for (const variant of ['redis', 'redis-outbox', 'postgres'] as const) {
  const store = variant === 'postgres' ? 'postgres' : 'redis';
  const outbox = variant === 'redis-outbox';
  describe(`two Node processes sharing Postgres${store === 'redis' ? ' + Redis' : ''} (${variant} store)`, () => {
    let t: TestEngine;
    let aof: AofRedis | null = null;
    beforeAll(async () => {
      if (outbox) aof = await startAofRedis();
      t = await createTestEngine({ store, realClock: true, redisUrl: aof?.url, env: outbox ? { SOLARIS_SETTLE_ACK: 'outbox' } : {} });
    });
    afterAll(async () => {
      await t?.cleanup();
      await aof?.stop();
    });

    it('200 parallel reserve+settle over two processes, limit allows 100 → exactly 100 allowed, counter = ledger', async () => {
      const userId = `mp-${variant}`;
      await t.engine.admin.setLimitOverride({ userId, limit: 1000 }, { id: 'admin' });
      const common: Record<string, string> = { DATABASE_URL: t.testDb.childEnvUrl, USER_ID: userId, COUNT: '100' };
      if (store === 'redis') Object.assign(common, { REDIS_URL: aof?.url ?? TEST_REDIS_URL, REDIS_PREFIX: t.testRedis!.testPrefix });
      if (outbox) common.SOLARIS_SETTLE_ACK = 'outbox';
      const workers = [runWorker({ ...common, PREFIX: 'a' }), runWorker({ ...common, PREFIX: 'b' })];
      await Promise.all(workers.map((w) => w.ready));
      for (const w of workers) w.go();
      const allowed = await Promise.all(workers.map((w) => w.done));
      expect(allowed[0]! + allowed[1]!).toBe(100);
      // Outbox ack: rows the workers' drainers had not written yet are still in Redis; write them now.
      if (outbox) await (t.engine.store as { flushOutbox?: () => Promise<number> }).flushOutbox?.();
      const { rows } = await t.db.pool.query(`SELECT count(*)::int AS n, sum(weighted_tokens)::int AS s FROM ledger WHERE user_id = $1`, [userId]);
      expect(rows[0]).toEqual({ n: 100, s: 1000 });
      expect(await t.engine.balance(userId)).toMatchObject({ used: 1000, reserved: 0, remaining: 0, state: 'blocked' });
      if (store === 'redis') expect(Number(await t.testRedis!.hget(`sq:{${userId}}:c`, 'used'))).toBe(1000);
    }, 60_000);
  });
}
