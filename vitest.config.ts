import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // test/e2e is Playwright's (npm run e2e).
    exclude: [...configDefaults.exclude, 'test/e2e/**'],
    // Native modules (Dawn for webgpu, sharp) and tfjs's global engine want a process per file.
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
