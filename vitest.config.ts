import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Every call that sends traffic checks that no buffer is left behind (src/engine/audit.ts).
    env: { PODNET_AUDIT: '1' },
  },
});
