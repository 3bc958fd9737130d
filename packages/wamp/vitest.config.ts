import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'wamp',
    include: ['src/**/*.test.ts'],
  },
});
