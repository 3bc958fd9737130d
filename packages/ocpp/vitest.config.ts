import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'ocpp',
    include: ['src/**/*.test.ts'],
  },
});
