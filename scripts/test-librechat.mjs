#!/usr/bin/env node
// `npm run test:librechat`: the real-LibreChat lane (issue #15). Builds the plugin as docs/operators.md says
// (`npm run build`), makes sure the LibreChat kit is set up (shared/librechat-host: $SOLARIS_LIBRECHAT_KIT or
// <repo>/../shared/librechat-host), then runs librechat-plugin/lane with vitest (vitest.librechat.config.ts),
// printing every check, and the lane's wall time at the end.
//
// Without the kit, its setup, or chromium: in CI (CI=true) the lane FAILS; elsewhere it is skipped with the
// reason printed (exit 0).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const started = Date.now();
const inCi = /^(1|true|yes)$/i.test(process.env.CI ?? '');
const wall = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;

function unavailable(reason) {
  if (inCi) {
    console.error(`test:librechat FAILED: ${reason} (CI must run the real-LibreChat lane). Wall time ${wall()}.`);
    process.exit(1);
  }
  console.warn(`\n*** test:librechat SKIPPED: ${reason}. In CI this is a failure. ***\n`);
  process.exit(0);
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });
  return r.status ?? 1;
}

const kit = [process.env.SOLARIS_LIBRECHAT_KIT, join(root, '..', 'shared', 'librechat-host')].filter(Boolean).map((p) => resolve(p)).find((p) => existsSync(join(p, 'setup')));
if (!kit) unavailable(`LibreChat kit not found ($SOLARIS_LIBRECHAT_KIT or ${join(root, '..', 'shared', 'librechat-host')})`);
if (!existsSync('/usr/bin/chromium')) unavailable('/usr/bin/chromium is missing (apt-get install chromium)');

console.log(`== LibreChat kit: ${kit}`);
// setup: < 1 s when cached; 4–6 min the first time on a machine (progress on stderr).
const setup = spawnSync(join(kit, 'setup'), [], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
if (setup.status !== 0) unavailable(`the LibreChat kit's setup failed (exit ${setup.status})`);
console.log(`== LibreChat root: ${setup.stdout.trim().split('\n').pop()} (${wall()})`);

console.log('== npm run build (docs/operators.md step 1)');
if (run('npm', ['run', 'build', '--silent']) !== 0) {
  console.error(`test:librechat FAILED: npm run build. Wall time ${wall()}.`);
  process.exit(1);
}

console.log('== lane');
const code = run(process.execPath, [join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '-c', 'vitest.librechat.config.ts', ...process.argv.slice(2)], {
  env: { ...process.env, SOLARIS_LIBRECHAT_KIT: kit },
});
console.log(`\ntest:librechat ${code === 0 ? 'passed' : 'FAILED'}; lane wall time (build + LibreChat + checks): ${wall()}`);
process.exit(code);
