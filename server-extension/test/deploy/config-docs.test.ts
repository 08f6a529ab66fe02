import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { OTHER_VARIABLES, renderConfigDocs } from '../../src/cli/config-docs';
import { configSchema } from '../../src/core/config';

describe('docs/configuration.md (generated from configSchema)', () => {
  const committed = readFileSync(resolve(__dirname, '..', '..', '..', 'docs', 'configuration.md'), 'utf8');

  it('is identical to a fresh generation (run `npm run docs:config` after changing core/config.ts)', () => {
    expect(committed).toBe(renderConfigDocs());
  });

  it('documents every variable with its default and description', () => {
    for (const name of Object.keys(configSchema.shape)) expect(committed).toContain(`| \`${name}\``);
    expect(committed).toMatch(/\| `SOLARIS_TIMEZONE` \| `America\/Sao_Paulo` \|/);
    expect(committed).toMatch(/\| `SOLARIS_LITELLM_WEBHOOK_SECRET` 🔒 \|/);
  });

  it('lists every variable the code reads (a scan of the source for environment reads)', () => {
    const root = resolve(__dirname, '..', '..', '..');
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const f of readdirSync(dir)) {
        const p = join(dir, f);
        if (statSync(p).isDirectory()) walk(p);
        else if (/\.(ts|tsx|cjs|mjs)$/.test(f)) files.push(p);
      }
    };
    for (const d of ['server-extension/src', 'librechat-plugin/src', 'client-components/src', 'bin']) walk(join(root, d));
    files.push(join(root, 'librechat-plugin', 'register.cjs'));
    // process.env.X, process.env['X'], and env.X / env['X'] on an environment record passed around.
    const read = new Set<string>();
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      for (const m of text.matchAll(/\b(?:process\.)?env(?:\.([A-Z][A-Z0-9_]+)|\[['"]([A-Z][A-Z0-9_]+)['"]\])/g)) read.add((m[1] ?? m[2])!);
    }
    expect(read.size).toBeGreaterThan(15);
    const referenced = new Set([...Object.keys(configSchema.shape), ...OTHER_VARIABLES.map((v) => v.name)]);
    expect([...read].filter((v) => !referenced.has(v)).sort()).toEqual([]);
    for (const v of OTHER_VARIABLES) expect(committed).toContain(`| \`${v.name}\``);
  });
});
