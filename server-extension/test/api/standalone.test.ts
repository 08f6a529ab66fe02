/**
 * The standalone entry as operators run it: bundled with esbuild (as scripts/build.mjs does) and started in a
 * child process against the real Postgres schema and Redis of this test file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from '../../src/dev/free-port';
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { build } from 'esbuild';
import { io as connect } from 'socket.io-client';
import { API_PREFIX, ApiRoutes, ExtrasRoutes, SOCKET_PATH, type MeDTO } from '@solaris/wire';
import { createTestDb, type TestDb, TEST_REDIS_URL } from '../helpers/infra';
import { ALICE, accessToken, refreshToken, SECRETS } from './helpers';

const root = join(__dirname, '../../..');
const outfile = join(root, 'dist', 'test', `standalone-${process.pid}.cjs`);
let db: TestDb;

beforeAll(async () => {
  db = await createTestDb({ max: 2 });
  await build({
    entryPoints: [join(root, 'server-extension/src/entry/standalone.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    packages: 'external',
    // Our own workspaces are TypeScript: bundle @solaris/wire instead of leaving a require() to a .ts file.
    plugins: [{ name: 'wire', setup: (b) => b.onResolve({ filter: /^@solaris\/wire(\/[a-z-]+)?$/ }, (a) => ({ path: join(root, `wire/${a.path.split('/')[2] ?? 'index'}.ts`) })) }],
    loader: { '.lua': 'text' },
    logLevel: 'error',
    define: { 'import.meta.url': 'importMetaUrl' },
    banner: { js: "const importMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  });
});
afterAll(async () => {
  rmSync(outfile, { force: true });
  await db?.drop();
});


function run(env: Record<string, string>): { child: ChildProcess; out: () => string; exited: Promise<number | null> } {
  let out = '';
  const child = spawn(process.execPath, [outfile], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', NODE_OPTIONS: '', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, out: () => out, exited };
}

describe('standalone server', () => {
  it('a bad setting prints one ConfigError line and exits 1', async () => {
    const p = run({ PORT: 'not-a-port', DATABASE_URL: db.childEnvUrl });
    expect(await p.exited).toBe(1);
    expect(p.out().trim()).toMatch(/^Invalid configuration: PORT [^\n]+$/);
  });

  it('serves API, health, proxy auth and socket.io on one port; SIGTERM with an open socket exits promptly', async () => {
    // A stand-in for LiteLLM's liveness route (readyz checks the upstream).
    const upstream = createHttpServer((_req, res) => res.end('ok')).listen(0, '127.0.0.1');
    await new Promise((r) => upstream.once('listening', r));
    const port = await freePort();
    const p = run({
      LITELLM_URL: `http://127.0.0.1:${(upstream.address() as { port: number }).port}`,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: db.childEnvUrl,
      REDIS_URL: TEST_REDIS_URL,
      SOLARIS_PROXY_KEY: 'svc-key',
      JWT_SECRET: SECRETS.access,
      JWT_REFRESH_SECRET: SECRETS.refresh,
    });
    const base = `http://127.0.0.1:${port}`;
    try {
      await vi.waitFor(async () => expect((await fetch(base + '/healthz')).status).toBe(200), { timeout: 15_000, interval: 100 });
      expect((await fetch(base + '/readyz')).status).toBe(200);
      const me = await fetch(base + API_PREFIX + ApiRoutes.me, { headers: { authorization: `Bearer ${accessToken(ALICE)}` } });
      expect(me.status).toBe(200);
      expect(((await me.json()) as MeDTO).userId).toBe(ALICE);
      expect((await fetch(base + API_PREFIX + ApiRoutes.me)).status).toBe(401);
      // The extras (caps, quota requests…) are mounted inside the authenticated API router.
      const settings = await fetch(base + API_PREFIX + ExtrasRoutes.mySettings, { headers: { authorization: `Bearer ${accessToken(ALICE)}` } });
      expect(settings.status).toBe(200);
      expect((await fetch(base + API_PREFIX + ExtrasRoutes.mySettings)).status).toBe(401);
      expect((await fetch(base + '/v1/models')).status).toBe(401); // the proxy wants the service key
      expect((await fetch(base + '/elsewhere')).status).toBe(404);

      // No session checker in the standalone server: a refresh cookie is refused (its session cannot be checked).
      expect((await fetch(base + API_PREFIX + ApiRoutes.me, { headers: { cookie: `refreshToken=${refreshToken(ALICE)}` } })).status).toBe(401);
      const socket = connect(base, { path: SOCKET_PATH, extraHeaders: { authorization: `Bearer ${accessToken(ALICE)}` }, transports: ['websocket'], reconnection: false });
      const firstBalance = await new Promise<{ userId: string }>((resolve, reject) => {
        socket.on('balance', resolve);
        socket.on('connect_error', reject);
      });
      expect(firstBalance.userId).toBe(ALICE);

      const t0 = Date.now();
      p.child.kill('SIGTERM');
      expect(await p.exited).toBe(0);
      expect(Date.now() - t0).toBeLessThan(5_000);
      socket.disconnect();
    } finally {
      p.child.kill('SIGKILL');
      upstream.close();
    }
  });
});
