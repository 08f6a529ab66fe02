/**
 * The plugin folder operators mount (scripts/build-plugin.mjs): built into a temp dir outside the
 * repository, so nothing can silently come from our node_modules. It must hold every path the override
 * names, require no npm package except LibreChat's own mongoose, and load with `node --require` in the
 * LibreChat-shaped host.
 */
import { execFileSync, spawn } from 'node:child_process';
import { builtinModules } from 'node:module';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildPluginFolder, ROOT } from './build-output';
import { createTestDb, type TestDb } from '../helpers/infra';
import { startFakeUpstream } from '../../src/dev/fake-upstream';
import { freePort } from '../../src/dev/free-port';
import { accessToken, BROWSER_UA, HOST_ENTRY, hostCwd, startMongo, type Mongo } from '../../../librechat-plugin/test/helpers';

const ALLOWED_EXTERNALS = new Set(['mongoose', 'pg-native', 'bufferutil', 'utf-8-validate']);

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]));
}

describe('plugin build (dist/solaris)', () => {
  let build: ReturnType<typeof buildPluginFolder>;
  beforeAll(() => {
    build = buildPluginFolder();
  }, 120_000);
  afterAll(() => build?.remove());

  it('holds every /solaris/... path named in docker-compose.override.yml', () => {
    const override = readFileSync(join(ROOT, 'docker-compose.override.yml'), 'utf8');
    const paths = [...new Set([...override.matchAll(/\/solaris\/[A-Za-z0-9_./-]+/g)].map((m) => m[0]))];
    expect(paths).toEqual(expect.arrayContaining(['/solaris/librechat-plugin/register.cjs', '/solaris/server/cli.cjs', '/solaris/migrations']));
    for (const p of paths) expect(existsSync(join(build.dir, p.replace(/^\/solaris\//, ''))), p).toBe(true);
    // register.cjs loads <its folder>/../dist/plugin/preload.cjs
    expect(existsSync(join(build.dir, 'dist', 'plugin', 'preload.cjs'))).toBe(true);
    const sql = readdirSync(join(build.dir, 'migrations')).filter((f) => f.endsWith('.sql'));
    expect(sql).toEqual(readdirSync(join(ROOT, 'migrations')).filter((f) => f.endsWith('.sql')));
  });

  it('is self-contained: bundles require only Node built-ins and LibreChat’s mongoose; size is in the manifest', () => {
    const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
    for (const f of files(build.dir).filter((x) => x.endsWith('.cjs') || x.endsWith('.mjs'))) {
      // require("x") everywhere; the runtime's ESM chunks also have import statements (at the top, after `;` or a
      // line break: a looser pattern matches the parser inside node-pg-migrate's chunk) and import("x")
      const text = readFileSync(f, 'utf8');
      const required = [
        ...text.matchAll(/require\("([^"./][^"]*)"\)/g),
        ...text.matchAll(/(?:^|[;\n])\s*import\s*(?:[\w$*{}\s,]+?from\s*)?["']([^"'./][^"']*)["']/g),
        ...text.matchAll(/\bimport\s*\(\s*["']([^"'./][^"']*)["']\s*\)/g),
      ].map((m) => m[1]!);
      // any node: specifier is a built-in (newer ones, e.g. node:sqlite, are feature-detected by dependencies)
      const foreign = required.filter((r) => !r.startsWith('node:') && !builtins.has(r) && !ALLOWED_EXTERNALS.has(r) && !builtins.has(r.split('/')[0]!));
      expect(foreign, f).toEqual([]);
    }
    const manifest = JSON.parse(readFileSync(join(build.dir, 'manifest.json'), 'utf8')) as { totalBytes: number; files: Record<string, number> };
    expect(manifest.files['server/cli.cjs']).toBe(statSync(join(build.dir, 'server', 'cli.cjs')).size);
    expect(manifest.totalBytes).toBeLessThan(20 * 1024 * 1024);
    // docs/operators.md's size table is the real build's (within 15 %: it is rounded, and code grows).
    const doc = readFileSync(join(ROOT, 'docs', 'operators.md'), 'utf8');
    const mb = (re: RegExp) => Number(re.exec(doc)![1]) * 1024 * 1024;
    const near = (documented: number, real: number, what: string) => expect(Math.abs(documented - real) / real, what).toBeLessThan(0.15);
    near(mb(/`dist\/plugin\/preload\.cjs`[^|]*\| ([\d.]+) MB/), manifest.files['dist/plugin/preload.cjs']!, 'preload.cjs');
    near(mb(/`server\/standalone\.cjs`[^|]*\| ([\d.]+) MB/), manifest.files['server/standalone.cjs']!, 'standalone.cjs');
    near(mb(/`server\/cli\.cjs`[^|]*\| ([\d.]+) MB/), manifest.files['server/cli.cjs']!, 'cli.cjs');
    near(mb(/\*\*total\*\* \| \*\*≈ ([\d.]+) MB/), manifest.totalBytes, 'total');
  });

  it('keeps the preload small, and the runtime’s chat path: the HTTP side is in chunks imported on first use', () => {
    // The single preload was 7.4 MB, then 3.7 MB with the tables split off (bench:gate: RSS and start-up).
    expect(statSync(join(build.dir, 'dist', 'plugin', 'preload.cjs')).size).toBeLessThan(256 * 1024);
    const probe = (code: string) => execFileSync(process.execPath, ['-e', code], { cwd: build.dir, encoding: 'utf8' }).trim();
    const preload = JSON.stringify(join(build.dir, 'dist', 'plugin', 'preload.cjs'));
    const loaded = `Object.keys(require.cache).filter((f) => /tokenizer|runtime/.test(f)).length`;
    expect(probe(`require(${preload}); console.log(${loaded})`)).toBe('0');
    // The runtime is loadable alone (what preload.cjs imports when LibreChat creates its server).
    const runtime = JSON.stringify(pathToFileURL(join(build.dir, 'dist', 'plugin', 'runtime.mjs')).href);
    expect(probe(`import(${runtime}).then((m) => console.log(typeof m.startRuntime))`)).toBe('function');
    // What loading it reads: runtime.mjs and the chunks it imports statically. Express, socket.io and undici are
    // only in chunks reached through import() (a file is compiled whole: this is what LibreChat's start-up pays).
    const plugin = join(build.dir, 'dist', 'plugin');
    const staticImports = (f: string) => [...readFileSync(join(plugin, f), 'utf8').matchAll(/(?:\bfrom ?|\bimport ?)"\.\/([\w.-]+\.mjs)"/g)].map((m) => m[1]!);
    const eager = new Set(['runtime.mjs']);
    for (const f of eager) for (const g of staticImports(f)) eager.add(g);
    const eagerBytes = [...eager].reduce((n, f) => n + statSync(join(plugin, f)).size, 0);
    expect(eagerBytes).toBeLessThan(1.4 * 1024 * 1024); // 3.6 MB when it was one file
    const eagerText = [...eager].map((f) => readFileSync(join(plugin, f), 'utf8')).join('\n');
    for (const marker of ['engine.io', 'allowEIO3', 'UND_ERR_CONNECT_TIMEOUT', 'x-powered-by']) expect(eagerText, marker).not.toContain(marker);
    const lazy = readdirSync(plugin).filter((f) => f.endsWith('.mjs') && !eager.has(f));
    expect(lazy.map((f) => readFileSync(join(plugin, f), 'utf8')).join('\n')).toContain('allowEIO3');
    for (const enc of ['o200k_base', 'cl100k_base']) {
      expect(probe(`console.log(require(${JSON.stringify(join(build.dir, 'tokenizer', enc + '.cjs'))}).countTokens('hello world'))`)).toBe('2');
    }
  });

  it('the built standalone server (server/) finds tokenizer/ too: a proxied chat is estimated and served', async () => {
    const [db, fake, port] = await Promise.all([createTestDb(), startFakeUpstream(), freePort()]);
    const env = {
      PATH: process.env.PATH ?? '', DATABASE_URL: db.childEnvUrl, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn',
      SOLARIS_PROXY_KEY: 'build-test-proxy-key-0123456789', LITELLM_URL: fake.url, SOLARIS_MIGRATIONS_DIR: join(build.dir, 'migrations'),
      JWT_SECRET: 'jwt-secret-for-build-test', JWT_REFRESH_SECRET: 'jwt-refresh-secret-for-build-test',
    };
    const child = spawn(process.execPath, [join(build.dir, 'server', 'standalone.cjs')], { cwd: build.dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    try {
      const deadline = Date.now() + 30_000;
      while (!(await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false))) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error('standalone did not start:\n' + out);
        await new Promise((r) => setTimeout(r, 100));
      }
      const r = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: 'Bearer build-test-proxy-key-0123456789', 'X-Solaris-User-Id': 'build-user' },
        body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Olá, tudo bem?' }], max_tokens: 16 }),
      });
      expect(r.status, await r.text()).toBe(200);
      expect(out).not.toMatch(/Cannot find module/i);
    } finally {
      child.kill('SIGKILL');
      await fake.close();
      await db.drop();
    }
  }, 60_000);

  describe('loads with node --require in the LibreChat-shaped host', () => {
    let mongo: Mongo;
    let db: TestDb;
    beforeAll(async () => {
      [mongo, db] = await Promise.all([startMongo(), createTestDb()]);
    }, 60_000);
    afterAll(async () => {
      mongo?.stop();
      await db?.drop();
    });

    it('the built preload hooks the host: widget tag in index.html, no preload failure', async () => {
      const cwd = hostCwd({ JWT_SECRET: 'jwt-secret-for-build-test', JWT_REFRESH_SECRET: 'jwt-refresh-secret-for-build-test' });
      const env: Record<string, string> = { PATH: process.env.PATH ?? '', MONGO_URI: mongo.uri, DATABASE_URL: db.childEnvUrl, PORT: '0', SOLARIS_MIGRATIONS_DIR: join(build.dir, 'migrations') };
      const child = spawn(process.execPath, ['--require', join(build.dir, 'librechat-plugin', 'register.cjs'), HOST_ENTRY], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      try {
        const port = await new Promise<string>((res, rej) => {
          const timer = setTimeout(() => rej(new Error('host did not start:\n' + out)), 30_000);
          const check = () => {
            const m = /HOST_LISTENING (\d+)/.exec(out);
            if (m) {
              clearTimeout(timer);
              res(m[1]!);
            }
          };
          child.stdout.on('data', check);
          child.once('exit', (code) => rej(new Error(`host exited ${code}:\n${out}`)));
        });
        const html = await (await fetch(`http://127.0.0.1:${port}/`)).text();
        expect(html).toContain('/solaris/widget.js');
        // A gated chat: the runtime (dist/plugin/runtime.mjs) answers the gate; no rank tables are loaded for it.
        const chat = await fetch(`http://127.0.0.1:${port}/api/agents/chat/FakeAI`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', 'User-Agent': BROWSER_UA, Authorization: `Bearer ${accessToken('jwt-secret-for-build-test', { id: '65f0c0ffee0000000000beef' })}` },
          body: JSON.stringify({ text: 'Olá, tudo bem?', model: 'gpt-4o', conversationId: 'c-build' }),
        });
        expect(chat.status).toBe(200);
        expect(out).not.toMatch(/preload failed|tokenizer failed|Cannot find module/i);
      } finally {
        child.kill('SIGKILL');
      }
    }, 60_000);
  });
});
