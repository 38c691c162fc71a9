import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 60_000,
    env: { NO_COLOR: '1' },
    globalSetup: ['test/setup/tmpdir.ts'],
  },
});
