// `npm run histories:record`: runs record-histories.ts against the same real services the integration tests
// use (test/global-setup.ts). Kept out of the normal test run: it rewrites the fixtures in this folder.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    include: ['test/histories/record-histories.ts'],
    environment: 'node',
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
