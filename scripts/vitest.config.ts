import { defineConfig } from 'vitest/config';

// The repository's own scripts; the root vitest.config.ts lists this project beside the packages.
export default defineConfig({
  test: {
    name: 'scripts',
    include: ['*.test.ts'],
  },
});
