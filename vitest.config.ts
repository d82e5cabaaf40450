import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['spawner/src/**/*.test.ts', 'mock-app/src/**/*.test.ts', 'mock-home/src/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/**/*.e2e.test.ts'],
          environment: 'node',
          // One Docker engine, two cores: e2e files run one after another.
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 240_000,
          // expect.poll's own default is 1 s: too short for a browser or an engine on a loaded
          // machine (a test that means a bound passes its own timeout).
          expect: { poll: { timeout: 15_000, interval: 100 } },
        },
      },
    ],
  },
});
