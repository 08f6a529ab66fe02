/**
 * vitest globalSetup: decides, once per run, what happens to the real-browser tests when Debian chromium is
 * missing. In CI (CI set) the run fails at once. Elsewhere the tests are skipped — and the run says so in a box
 * at its start and again at its end, so a green `npm test` can never hide that the browser tests did not run.
 */
import { existsSync } from 'node:fs';

export const CHROMIUM_PATH = '/usr/bin/chromium';

export function chromiumPreflight(env: Record<string, string | undefined>, chromium = CHROMIUM_PATH, exists = existsSync): string | null {
  if (exists(chromium)) return null;
  if (env.CI) throw new Error(`${chromium} is missing: the browser tests must run in CI (apt-get install chromium); failing instead of skipping.`);
  const lines = [
    `SKIPPED: the real-browser tests (client-components/test/e2e/*.e2e.test.ts)`,
    `why: ${chromium} not found — install it with: apt-get install chromium`,
    `(in CI, with CI set, this run would fail instead)`,
  ];
  const width = Math.max(...lines.map((l) => l.length));
  const bar = '!'.repeat(width + 4);
  return [bar, ...lines.map((l) => `! ${l.padEnd(width)} !`), bar].join('\n');
}

export default function setup(): () => void {
  const message = chromiumPreflight(process.env);
  if (message) process.stderr.write(`\n${message}\n\n`);
  return () => {
    if (message) process.stderr.write(`\n${message}\n\n`);
  };
}
