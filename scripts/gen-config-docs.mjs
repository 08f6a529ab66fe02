// Writes docs/configuration.md from the zod config schema (server-extension/src/cli/config-docs.ts).
// `--check`: exit 1 when the committed file differs from a fresh generation (CI / tests).
import { build } from 'esbuild';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const target = join(root, 'docs', 'configuration.md');
const dir = mkdtempSync(join(tmpdir(), 'solaris-docs-'));
try {
  const outfile = join(dir, 'config-docs.cjs');
  await build({
    entryPoints: [join(root, 'server-extension', 'src', 'cli', 'config-docs.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    logLevel: 'error',
    nodePaths: [join(root, 'node_modules')],
  });
  const text = createRequire(import.meta.url)(outfile).renderConfigDocs();
  if (process.argv.includes('--check')) {
    const current = existsSync(target) ? readFileSync(target, 'utf8') : '';
    if (current !== text) {
      console.error('docs/configuration.md is out of date: run `npm run docs:config`');
      process.exit(1);
    }
    console.log('docs/configuration.md is up to date');
  } else {
    writeFileSync(target, text);
    console.log('wrote docs/configuration.md');
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
