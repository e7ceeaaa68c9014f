import { defineConfig } from 'vitest/config';
import { LastFileSequencer } from './test/last-file-sequencer.js';

export default defineConfig({
  test: {
    // Root-level only: vitest ignores a sequencer set on a project.
    sequence: { sequencer: LastFileSequencer },
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts'],
          exclude: ['src/**/*.integration.test.ts'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['src/**/*.integration.test.ts', 'test/**/*.integration.test.ts'],
          fileParallelism: false,
          globalSetup: ['test/global-setup.ts'],
          testTimeout: 30 * 60_000,
          hookTimeout: 30 * 60_000,
        },
      },
    ],
  },
});
