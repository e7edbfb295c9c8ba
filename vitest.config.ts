import { defineConfig } from 'vitest/config';

// One root config; each package is a vitest project (tests live in packages/<pkg>/test).
export default defineConfig({
  test: {
    projects: ['packages/*'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
