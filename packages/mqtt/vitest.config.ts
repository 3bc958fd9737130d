import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'mqtt',
    include: ['src/**/*.test.ts'],
  },
});
