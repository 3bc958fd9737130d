import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'adapter-template',
    include: ['src/**/*.test.ts'],
  },
});
