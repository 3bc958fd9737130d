import { defineConfig } from 'vitest/config';

// One run over every package: each package keeps its own vitest.config.ts so
// `turbo run test` can run them one by one, and this root run lists them all, with the
// repository's own scripts (`scripts/new-adapter.test.ts`).
export default defineConfig({
  test: {
    projects: ['packages/*/vitest.config.ts', 'apps/*/vitest.config.ts', 'scripts/vitest.config.ts'],
  },
});
