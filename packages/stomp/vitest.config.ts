import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'stomp',
    include: ['src/**/*.test.ts'],
  },
});
