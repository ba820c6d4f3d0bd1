import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

// Decorators (NestJS) need swc: esbuild emits no decorator metadata.
export default defineConfig({
  plugins: [swc.vite({ module: { type: 'es6' } })],
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    include: ['{libs,services,apps,tools}/**/*.spec.ts'],
    pool: 'forks',
    testTimeout: 20_000,
  },
});
