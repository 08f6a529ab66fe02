// One build for every Node entry point: esbuild bundles TypeScript (and .lua scripts as text) into
// CommonJS files under dist/. Dependencies stay external here (node_modules is beside dist/);
// `--plugin` (scripts/build-plugin.mjs) makes the self-contained folder operators mount.
import { build } from 'esbuild';
import { existsSync, readdirSync } from 'node:fs';
import { join, basename } from 'node:path';
import { nodeBundleOptions } from './node-bundle.mjs';

const quiet = process.argv.includes('--quiet');
const root = new URL('..', import.meta.url).pathname;

/** entry name -> source, only those that exist (entry points land issue by issue). */
function entries(dir, outPrefix) {
  const abs = join(root, dir);
  if (!existsSync(abs)) return {};
  return Object.fromEntries(
    readdirSync(abs)
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && !f.startsWith('_'))
      .map((f) => [`${outPrefix}/${basename(f, '.ts')}`, join(abs, f)]),
  );
}

const entryPoints = {
  ...entries('server-extension/src/entry', 'server'),
  ...entries('bench', 'bench'),
};

const started = Date.now();
await build({ ...nodeBundleOptions({ root, quiet }), entryPoints, outdir: join(root, 'dist') });
if (!quiet) console.log(`built ${Object.keys(entryPoints).length} entry points in ${Date.now() - started} ms`);
// LibreChat preload: librechat-plugin/src/*.ts -> dist/plugin/*.cjs (workspace sources bundled, mongoose external).
await (await import('../librechat-plugin/build.mjs')).buildPlugin({ root, quiet });
// Browser widget: dist/widget/widget.js (Vite, one IIFE with React). `--no-widget` skips it.
if (!process.argv.includes('--no-widget')) {
  const { spawnSync } = await import('node:child_process');
  const vite = join(root, 'node_modules', 'vite', 'bin', 'vite.js');
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [vite, 'build', '-c', join(root, 'client-components', 'vite.widget.config.ts')], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
  if (!quiet) console.log(`built dist/widget/widget.js in ${Date.now() - t0} ms`);
}
