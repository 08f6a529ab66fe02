// Builds the self-contained plugin folder operators mount into LibreChat's container (read-only at /solaris):
//
//   dist/solaris/
//     librechat-plugin/register.cjs   the --require preload (copied as is: it only picks the bundle below)
//     dist/plugin/<entry>.cjs         librechat-plugin/src/*.ts bundled; register.cjs loads
//                                     `<its folder>/../dist/plugin/preload.cjs`, so the layout mirrors the repo
//     dist/plugin/runtime.mjs         the server side the preload imports when LibreChat creates its server (ESM,
//     dist/plugin/*-<hash>.mjs        split: the chat path's engine first, its HTTP side's chunks on first use)
//     tokenizer/<encoding>.cjs        rank tables, required on first use (metering proxy, standalone server)
//     server/<entry>.cjs              server-extension/src/entry/*.ts but the demo (cli.cjs: `migrate`, `doctor`, ...)
//     migrations/*.sql                the ledger schema (SOLARIS_MIGRATIONS_DIR=/solaris/migrations)
//     widget/widget.js                the browser widget, when dist/widget/widget.js was built
//     manifest.json                   version, build time, file sizes
//
// Unlike scripts/build.mjs, npm dependencies are bundled in: LibreChat's image has none of them. Kept out:
//   - mongoose: the plugin must use LibreChat's own instance (resolved at run time from LibreChat's api/ dir);
//   - @electric-sql/* (PGlite): wasm + data files, only for the demo; production uses a real PostgreSQL;
//   - optional native add-ons (pg-native, bufferutil, utf-8-validate): their JS fallbacks are used.
//
// Usage: node scripts/build-plugin.mjs [--out <dir>] [--quiet] [--no-minify (profiling: readable code, one
// `// <source path>` comment above each module, bench:gate's BENCH_PLUGIN=readable)]
import { build } from 'esbuild';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { createRequire } from 'node:module';

const args = process.argv.slice(2);
const quiet = args.includes('--quiet');
const minify = !args.includes('--no-minify');
const root = new URL('..', import.meta.url).pathname;
const outIndex = args.indexOf('--out');
const out = outIndex >= 0 ? resolve(process.cwd(), args[outIndex + 1] ?? '') : join(root, 'dist', 'solaris');
const log = (s) => quiet || console.log(s);

/** Stub for PGlite: a clear message instead of "Cannot find module" when DATABASE_URL is missing. */
const noEmbeddedDatabase = {
  name: 'no-embedded-database',
  setup(b) {
    b.onResolve({ filter: /^@electric-sql\// }, (a) => ({ path: a.path, namespace: 'no-pglite' }));
    b.onLoad({ filter: /.*/, namespace: 'no-pglite' }, () => ({
      contents:
        "throw new Error('The Solaris plugin build has no embedded database: set DATABASE_URL to a PostgreSQL server (see docs/operators.md).');",
      loader: 'js',
    }));
  },
};

/**
 * gpt-tokenizer's encodings (o200k, cl100k) are ~3.7 MB of rank tables: compiling and evaluating them took ~1 s
 * of LibreChat's start-up and ~110 MB of RSS (bench:gate). They are built as separate files,
 * `<out>/tokenizer/<encoding>.cjs`, loaded on first use: the import resolves to a shim whose exports are
 * getters that require that file (export names read from the real module at build time, so any named import
 * keeps working). Bundles live in `<out>/server/` and `<out>/dist/plugin/`: the shim looks one and two levels up.
 */
const lazyEncodings = new Map(); // encoding name -> module path
const lazyTokenizerTables = {
  name: 'lazy-tokenizer-tables',
  setup(b) {
    const req = createRequire(join(root, 'package.json'));
    b.onResolve({ filter: /^gpt-tokenizer\/encoding\/[a-z0-9_]+$/ }, (a) => ({ path: a.path, namespace: 'lazy-tokenizer' }));
    b.onLoad({ filter: /.*/, namespace: 'lazy-tokenizer' }, (a) => {
      const real = req.resolve(a.path);
      const name = basename(a.path);
      lazyEncodings.set(name, real);
      const names = Object.keys(req(real)).filter((n) => n !== '__esModule'); // `default` too: token-bound.ts reads the encoding object
      const file = `tokenizer/${name}.cjs`;
      return {
        loader: 'js',
        contents: [
          "const { existsSync } = require('node:fs');",
          "const { join } = require('node:path');",
          'let real;',
          'const load = () => {',
          `  if (!real) { const f = [join(__dirname, '..', ${JSON.stringify(file)}), join(__dirname, '..', '..', ${JSON.stringify(file)})].find((p) => existsSync(p)); real = require(f ?? ${JSON.stringify(file)}); }`,
          '  return real;',
          '};',
          "Object.defineProperty(exports, '__esModule', { value: true });",
          `for (const name of ${JSON.stringify(names)}) Object.defineProperty(exports, name, { enumerable: true, get: () => load()[name] });`,
        ].join('\n'),
      };
    });
  },
};

/**
 * The preload (dist/plugin/preload.cjs) holds only what LibreChat's start-up runs: the hooks, the gate, the
 * Transaction meter. The server side it starts when LibreChat creates its HTTP server (`import('./lib/runtime')`
 * in preload.ts) is its own build, dist/plugin/runtime.mjs: ESM with code splitting, because compiling the
 * bundle's source was most of what loading it cost (V8 parses all of a file, used or not). `runtime.mjs` holds
 * what the chat path runs (config, engine, webhooks, the realtime feed); what runtime.ts reaches only through
 * `import()` — the HTTP side, runtime-http.ts: REST API, socket.io, metering proxy, metrics — lands in chunks
 * (`dist/plugin/<name>-<hash>.mjs`) read at its first request. Modules both sides use are in shared chunks, once.
 * The preload and the runtime are cut from the same sources; what they share that has state (the log's
 * once-a-minute lines) exists once per build.
 */
const lazyRuntime = {
  name: 'lazy-runtime',
  setup(b) {
    b.onResolve({ filter: /^\.\/lib\/runtime$/ }, (a) =>
      a.importer === join(root, 'librechat-plugin', 'src', 'preload.ts') ? { path: './runtime.mjs', external: true } : undefined,
    );
  },
};

/** @solaris/wire is TypeScript source: bundle it from the workspace. */
const workspaceSources = {
  name: 'workspace-sources',
  setup(b) {
    b.onResolve({ filter: /^@solaris\/wire(\/[a-z-]+)?$/ }, (a) => ({ path: join(root, 'wire', `${a.path.split('/')[2] ?? 'index'}.ts`) }));
  },
};

function serverEntries() {
  const dir = join(root, 'server-extension', 'src', 'entry');
  if (!existsSync(dir)) return {};
  return Object.fromEntries(
    readdirSync(dir)
      // demo.ts runs on the embedded PGlite, which this build leaves out.
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && !f.startsWith('_') && f !== 'demo.ts')
      .map((f) => [`server/${basename(f, '.ts')}`, join(dir, f)]),
  );
}

const started = Date.now();
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

function pluginEntries() {
  const dir = join(root, 'librechat-plugin', 'src');
  if (!existsSync(dir)) return {};
  return Object.fromEntries(
    readdirSync(dir)
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
      .map((f) => [`dist/plugin/${basename(f, '.ts')}`, join(dir, f)]),
  );
}

const entryPoints = { ...serverEntries(), ...pluginEntries() };
const register = join(root, 'librechat-plugin', 'register.cjs');
if (existsSync(register)) {
  mkdirSync(join(out, 'librechat-plugin'), { recursive: true });
  cpSync(register, join(out, 'librechat-plugin', 'register.cjs'));
} else console.warn('build-plugin: librechat-plugin/register.cjs not found; the folder has no preload');

const common = {
  outdir: out,
  bundle: true,
  platform: 'node',
  target: 'node20',
  minify,
  keepNames: true,
  sourcemap: false,
  legalComments: 'linked',
  metafile: true,
  external: ['mongoose', 'pg-native', 'bufferutil', 'utf-8-validate'],
  plugins: [noEmbeddedDatabase, workspaceSources, lazyTokenizerTables, lazyRuntime],
  loader: { '.lua': 'text' },
  logLevel: quiet ? 'error' : 'warning',
};
const result = await build({
  ...common,
  entryPoints,
  outExtension: { '.js': '.cjs' },
  format: 'cjs',
  define: { 'import.meta.url': 'importMetaUrl' },
  banner: { js: "const importMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
});
// The runtime (see lazyRuntime): ESM for esbuild's code splitting. Bundled CommonJS dependencies call `require`
// and read `__dirname` (the tokenizer shim): the banner gives every output file its own. Chunks sit beside
// runtime.mjs, so `__dirname/../..` is the folder's root as for the other bundles.
const runtimeBuild = await build({
  ...common,
  entryPoints: { 'dist/plugin/runtime': join(root, 'librechat-plugin', 'src', 'lib', 'runtime.ts') },
  outExtension: { '.js': '.mjs' },
  format: 'esm',
  splitting: true,
  chunkNames: 'dist/plugin/[name]-[hash]',
  banner: {
    js: [
      "import { createRequire as __solarisCreateRequire } from 'node:module';",
      "import { dirname as __solarisDirname } from 'node:path';",
      "import { fileURLToPath as __solarisFileURLToPath } from 'node:url';",
      'const require = __solarisCreateRequire(import.meta.url);',
      'const __filename = __solarisFileURLToPath(import.meta.url);',
      'const __dirname = __solarisDirname(__filename);',
    ].join(' '),
  },
});
result.warnings.push(...runtimeBuild.warnings);

if (lazyEncodings.size > 0) {
  await build({
    entryPoints: Object.fromEntries([...lazyEncodings].map(([name, path]) => [`tokenizer/${name}`, path])),
    outdir: out,
    outExtension: { '.js': '.cjs' },
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: true,
    legalComments: 'linked',
    logLevel: quiet ? 'error' : 'warning',
  });
}

cpSync(join(root, 'migrations'), join(out, 'migrations'), { recursive: true, filter: (src) => statSync(src).isDirectory() || src.endsWith('.sql') });
const widget = join(root, 'dist', 'widget', 'widget.js');
if (existsSync(widget)) {
  mkdirSync(join(out, 'widget'), { recursive: true });
  cpSync(widget, join(out, 'widget', 'widget.js')); // (its source map stays in dist/widget: 1 MB nobody serves)
} else log('build-plugin: dist/widget/widget.js not built; the folder has no widget');

/** Every file under `dir` with its size. */
function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
}
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const files = Object.fromEntries(walk(out).map((f) => [relative(out, f), statSync(f).size]));
const totalBytes = Object.values(files).reduce((a, b) => a + b, 0);
writeFileSync(
  join(out, 'manifest.json'),
  JSON.stringify({ name: pkg.name, version: pkg.version, builtAt: new Date().toISOString(), node: '>=20.19', totalBytes, files }, null, 2) + '\n',
);
const mb = (n) => (n / 1024 / 1024).toFixed(2) + ' MB';
log(`build-plugin: ${relative(process.cwd(), out) || out} — ${Object.keys(files).length} files, ${mb(totalBytes)} in ${Date.now() - started} ms`);
if (!quiet) for (const [f, n] of Object.entries(files).sort((a, b) => b[1] - a[1]).slice(0, 6)) log(`  ${mb(n).padStart(9)}  ${f}`);
if (result.warnings.length && !quiet) log(`build-plugin: ${result.warnings.length} esbuild warning(s)`);
