import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

// Whole-cluster tests: one file at a time, so timing-sensitive slots do not share the CPU
// with unit tests. Same resolution and decorator set-up as vitest.config.ts.
export default defineConfig({
  plugins: [swc.vite({ module: { type: 'es6' } })],
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    include: ['apps/**/*.e2e.spec.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 120_000,
  },
});
