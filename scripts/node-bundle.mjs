// The one esbuild setup for our Node bundles (entry points, benches, the LibreChat preload, test builds):
// TypeScript + `.lua` scripts as text → CommonJS for Node 20. npm dependencies stay external
// (node_modules beside the output); our own workspaces (@solaris/*) are TypeScript sources, so they are
// bundled in; mongoose is always external (inside LibreChat it must be LibreChat's own copy).
import { realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('..', import.meta.url));

/** esbuild plugin: resolve `@solaris/*` to the workspace sources (with `packages: 'external'` they would stay `require`s of .ts files). */
export function bundleWorkspaces(root = repoRoot) {
  const req = createRequire(join(root, 'package.json'));
  return {
    name: 'bundle-solaris-workspaces',
    setup(b) {
      b.onResolve({ filter: /^mongoose$/ }, () => ({ path: 'mongoose', external: true }));
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
}

/** Options shared by every Node bundle; spread them and add entryPoints / outdir. */
export function nodeBundleOptions({ root = repoRoot, quiet = false } = {}) {
  return {
    outExtension: { '.js': '.cjs' },
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    packages: 'external',
    plugins: [bundleWorkspaces(root)],
    sourcemap: 'linked',
    loader: { '.lua': 'text' },
    logLevel: quiet ? 'error' : 'info',
    // import.meta.url has no meaning in a CJS bundle: point it at the bundle file.
    define: { 'import.meta.url': 'importMetaUrl' },
    banner: { js: "const importMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  };
}
