/** Builds the self-contained plugin folder into a temp dir outside the repository (no node_modules around it). */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(__dirname, '..', '..', '..');

export function buildPluginFolder(): { dir: string; remove(): void } {
  const base = mkdtempSync(join(tmpdir(), 'solaris-plugin-'));
  const dir = join(base, 'solaris');
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'build-plugin.mjs'), '--out', dir, '--quiet'], { cwd: ROOT, stdio: 'pipe' });
  return { dir, remove: () => rmSync(base, { recursive: true, force: true }) };
}
