import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { renderConfigDocs } from '../../src/cli/config-docs';
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
});
