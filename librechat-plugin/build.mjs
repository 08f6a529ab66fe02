// Bundles librechat-plugin/src/*.ts into dist/plugin/*.cjs (CJS, Node 20). Our workspace sources
// (@solaris/wire, server-extension) are bundled in: they are TypeScript and cannot be required at runtime.
// npm dependencies stay external (node_modules beside dist/). mongoose is never imported by the bundle:
// LibreChat's own copy is resolved at runtime from LibreChat's api/ folder.
import { build } from 'esbuild';
import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeBundleOptions } from '../scripts/node-bundle.mjs';

const defaultRoot = fileURLToPath(new URL('..', import.meta.url));

export async function buildPlugin({ root = defaultRoot, outdir = join(root, 'dist'), quiet = false } = {}) {
  const src = join(root, 'librechat-plugin', 'src');
  const entryPoints = Object.fromEntries(
    readdirSync(src)
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
      .map((f) => [`plugin/${basename(f, '.ts')}`, join(src, f)]),
  );
  await build({ ...nodeBundleOptions({ root, quiet }), entryPoints, outdir });
  return Object.keys(entryPoints);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await buildPlugin({ quiet: process.argv.includes('--quiet') });
}
