// One build for every Node entry point: esbuild bundles TypeScript (and .lua scripts as text) into
// CommonJS files under dist/. Dependencies stay external here (node_modules is beside dist/);
// `--plugin` (scripts/build-plugin.mjs) makes the self-contained folder operators mount.
import { build } from 'esbuild';
import { existsSync, readdirSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, basename } from 'node:path';

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

/** `packages: 'external'` would leave `require('@solaris/wire')` pointing at a .ts file: resolve those in-tree. */
const bundleWorkspaces = {
  name: 'bundle-workspaces',
  setup(b) {
    const req = createRequire(join(root, 'package.json'));
    b.onResolve({ filter: /^@solaris\// }, (args) => {
      for (const candidate of [args.path, `${args.path}.ts`]) {
        try {
          return { path: realpathSync(req.resolve(candidate)) };
        } catch {
          /* try the next form */
        }
      }
      return undefined;
    });
  },
};

const started = Date.now();
await build({
  entryPoints,
  outdir: join(root, 'dist'),
  outExtension: { '.js': '.cjs' },
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  packages: 'external',
  // ...except our own workspaces (TypeScript sources, e.g. @solaris/wire's runtime constants): bundled.
  plugins: [bundleWorkspaces],
  sourcemap: 'linked',
  loader: { '.lua': 'text' },
  logLevel: quiet ? 'error' : 'info',
  // import.meta.url has no meaning in a CJS bundle; code that needs a path uses __dirname fallbacks.
  define: { 'import.meta.url': 'importMetaUrl' },
  banner: { js: "const importMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
});
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
