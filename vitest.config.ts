import { defineConfig, type Plugin } from 'vitest/config';

// Lua scripts live in their own .lua files (BullMQ style) and are imported as text.
const luaAsText: Plugin = {
  name: 'lua-as-text',
  transform(code, id) {
    if (id.endsWith('.lua')) return { code: `export default ${JSON.stringify(code)};`, map: null };
    return undefined;
  },
};

export default defineConfig({
  plugins: [luaAsText],
  test: {
    globals: true,
    // Says loudly (start and end of the run) when the browser tests are skipped; fails the run in CI.
    globalSetup: ['client-components/test/e2e/preflight.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    coverage: {
      provider: 'v8',
      // TypeScript only: the .lua scripts are loaded as text and run inside Redis (v8 cannot see them).
      include: ['server-extension/src/core/**/*.ts'],
      reporter: ['text-summary', 'text'],
      // Still print the figure when an unrelated test fails (the thresholds keep failing the run).
      reportOnFailure: true,
      thresholds: { lines: 80, statements: 80 },
    },
    projects: [
      {
        plugins: [luaAsText],
        test: {
          name: 'server-extension',
          globals: true,
          environment: 'node',
          include: ['server-extension/test/**/*.test.ts', 'wire/**/*.test.ts'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        plugins: [luaAsText],
        test: {
          name: 'librechat-plugin',
          globals: true,
          environment: 'node',
          include: ['librechat-plugin/test/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'client-components',
          globals: true,
          environment: 'jsdom',
          include: ['client-components/test/**/*.test.{ts,tsx}'],
          setupFiles: ['client-components/test/setup.ts'],
        },
      },
    ],
  },
});
