import { defineConfig } from 'vitest/config';

// `npm run test:librechat`: the real-LibreChat lane (librechat-plugin/lane), apart from `npm test`.
// One file, run in order (its checks share one LibreChat install); scripts/test-librechat.mjs builds first.
export default defineConfig({
  test: {
    name: 'librechat-lane',
    globals: true,
    environment: 'node',
    pool: 'forks',
    include: ['librechat-plugin/lane/**/*.lane.ts'],
    fileParallelism: false,
    testTimeout: 90_000,
    hookTimeout: 300_000,
    reporters: ['verbose'],
  },
});
