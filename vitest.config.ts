// Two projects: fast unit tests beside their units, and integration tests under test/ that share one real
// Temporal dev server, PostgreSQL database and MinIO started by test/global-setup.ts.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: [
            '{core,channels,llm,tools,api,db,storage,platform,workflows,activities,workers,security,runs,jobs,conversations,audit,privacy,pii,scripts,bench}/**/*.test.ts',
          ],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
