import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

// Decorators (NestJS) need swc: esbuild emits no decorator metadata.
// `source` resolves `#lib/*` and `#service/*` to TypeScript sources (package.json "imports").
export default defineConfig({
  plugins: [swc.vite({ module: { type: 'es6' } })],
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    include: ['{libs,services,apps,tools}/**/*.spec.ts'],
    exclude: ['**/node_modules/**', '**/*.e2e.spec.ts'],
    pool: 'forks',
    testTimeout: 20_000,
  },
});
