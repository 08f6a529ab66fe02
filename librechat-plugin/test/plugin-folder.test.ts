/**
 * The plugin folder exactly as operators install it (docs/operators.md step 1: `cp -r dist/solaris LC/solaris`),
 * outside this checkout, preloaded into the LibreChat-shaped host: it must serve its own widget without any
 * extra variable (issue #15 item 1: GET /solaris/widget.js answered 404 "Widget bundle not built").
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDb, type TestDb } from '../../server-extension/test/helpers/infra';
import { hostCwd, ROOT, startHost, startMongo, type Host, type Mongo } from './helpers';

let dir: string;
let mongo: Mongo;
let db: TestDb;
let host: Host;
let widget: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'solaris-lc-folder-'));
  const plugin = join(dir, 'solaris');
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'build-plugin.mjs'), '--out', plugin, '--quiet'], { cwd: ROOT, stdio: 'pipe' });
  // Without a built widget in this checkout, stand in for it: the server's job is to find the folder's copy.
  const file = join(plugin, 'widget', 'widget.js');
  if (!existsSync(file)) {
    mkdirSync(join(plugin, 'widget'), { recursive: true });
    writeFileSync(file, '/* widget stand-in */ window.__solarisWidget = true;\n');
  }
  widget = readFileSync(file, 'utf8');
  [mongo, db] = await Promise.all([startMongo(), createTestDb()]);
  host = await startHost({
    register: join(plugin, 'librechat-plugin', 'register.cjs'),
    cwd: hostCwd({ JWT_SECRET: 'folder-secret', JWT_REFRESH_SECRET: 'folder-refresh' }),
    env: { MONGO_URI: mongo.uri, DATABASE_URL: db.childEnvUrl, REDIS_URL: undefined, PORT: '0', SOLARIS_WIDGET_FILE: undefined },
  });
}, 120_000);

afterAll(async () => {
  await host?.stop();
  mongo?.stop();
  await db?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it('serves widget.js from the copied plugin folder (no SOLARIS_WIDGET_FILE)', async () => {
  const r = await fetch(`${host.url}/solaris/widget.js`);
  expect(r.status).toBe(200);
  expect(r.headers.get('content-type')).toMatch(/javascript/);
  expect(await r.text()).toBe(widget);
  // and the page LibreChat serves loads it
  expect(await (await fetch(`${host.url}/c/new`)).text()).toContain('<script src="/solaris/widget.js" defer></script>');
});
