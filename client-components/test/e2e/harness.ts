/**
 * Shared by the real-browser tests: build and start `npm run demo`'s server (embedded Postgres, fake
 * upstream) into test-artifacts/, launch headless Debian chromium through playwright-core, and drive
 * the demo page (login, chat). Each test file builds into its own folder, so files may run in parallel.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Locator, Page } from 'playwright-core';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const ARTIFACTS = join(ROOT, 'test-artifacts');
export const CHROMIUM = '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM);

/** Without chromium: skipped locally (with a warning), a failure in CI. */
export function requireChromiumInCi(): void {
  if (!hasChromium && process.env.CI) throw new Error(`${CHROMIUM} is missing: CI must install the chromium apt package`);
  if (!hasChromium) console.warn(`[e2e] skipped: ${CHROMIUM} not found (apt-get install chromium). In CI this test fails instead.`);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Builds the demo server and the widget into test-artifacts/<name>/ (own output: never races `npm run build`). */
export async function buildDemo(name = 'e2e-build'): Promise<{ server: string; widget: string }> {
  const BUILD = join(ARTIFACTS, name);
  mkdirSync(BUILD, { recursive: true });
  const { build } = await import('esbuild');
  const { nodeBundleOptions } = await import('../../../scripts/node-bundle.mjs');
  await build({
    ...nodeBundleOptions({ root: ROOT, quiet: true }),
    sourcemap: false,
    entryPoints: { demo: join(ROOT, 'server-extension/src/entry/demo.ts') },
    outdir: BUILD,
  });
  const widgetDir = join(BUILD, 'widget');
  const r = spawnSync(process.execPath, [join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '-c', join(ROOT, 'client-components/vite.widget.config.ts'), '--outDir', widgetDir], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`widget build failed: ${r.stderr}`);
  return { server: join(BUILD, 'demo.cjs'), widget: join(widgetDir, 'widget.js') };
}

export async function startDemo(server: string, widget: string, port: number): Promise<ChildProcess> {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), HOST: '127.0.0.1', SOLARIS_WIDGET_FILE: widget, LOG_LEVEL: 'error' };
  for (const k of ['DATABASE_URL', 'REDIS_URL', 'LITELLM_URL', 'SOLARIS_DATA_DIR', 'JWT_SECRET', 'JWT_REFRESH_SECRET']) delete env[k];
  const child = spawn(process.execPath, [server], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`demo did not start:\n${log}`)), 60_000);
    const onData = (d: Buffer) => {
      log += d.toString();
      if (log.includes('DEMO_READY')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`demo exited (${code}):\n${log}`)));
  });
  return child;
}

export async function stopDemo(demo: ChildProcess | undefined): Promise<void> {
  if (!demo || demo.exitCode !== null) return;
  const exited = new Promise((r) => demo.once('exit', r));
  demo.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
  if (demo.exitCode === null) demo.kill('SIGKILL');
}

export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/**
 * Console errors of a page. Chrome itself logs every non-2xx fetch; the expected ones are left out:
 * 401 from /solaris/api/me and the demo's session probe while logged out, 402 of a refused chat.
 */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const url = m.location().url;
    const expected =
      (/status of 401/.test(m.text()) && /\/solaris\/api\/me$|\/demo\/api\/session$/.test(url)) || (/status of 402/.test(m.text()) && url.endsWith('/demo/api/chat'));
    if (!expected) errors.push(`${m.text()} ${url}`);
  });
  return errors;
}

export async function login(page: Page, base: string, userId: string): Promise<void> {
  await page.goto(base + '/');
  await page.locator(`[data-demo-user="${userId}"]`).click();
  await page.waitForURL(/\/c\//);
}

/** Sends one chat message on the demo page; 'refused' when the answer is an error line (402). */
export async function send(page: Page, text: string): Promise<'ok' | 'refused'> {
  const before = await page.locator('.demo-msg').count();
  await page.locator('#demo-input').fill(text);
  await page.locator('#demo-send').click();
  await page.waitForFunction((n) => document.querySelectorAll('.demo-msg').length >= n + 2, before);
  return (await page.locator('.demo-msg').last().getAttribute('class'))?.includes('error') ? 'refused' : 'ok';
}

export const percentOf = async (counter: Locator): Promise<number> =>
  Number(((await counter.getAttribute('aria-label')) ?? '').match(/([\d.,]+)%/)?.[1]?.replace(',', '.') ?? NaN);
