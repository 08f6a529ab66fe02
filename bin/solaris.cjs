#!/usr/bin/env node
// `npx solaris ...`: runs the built admin CLI (dist/server/cli.cjs), building it first when missing.
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const { execFileSync } = require('node:child_process');

const root = join(__dirname, '..');
const cli = join(root, 'dist', 'server', 'cli.cjs');
if (!existsSync(cli)) {
  process.stderr.write('solaris: building the CLI first (node scripts/build.mjs)...\n');
  try {
    execFileSync(process.execPath, [join(root, 'scripts', 'build.mjs'), '--quiet'], { stdio: 'inherit', cwd: root });
  } catch {
    process.stderr.write('solaris: build failed; run `npm run build` and read its errors\n');
    process.exit(1);
  }
}
require(cli);
