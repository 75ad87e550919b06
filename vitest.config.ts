import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Workspace packages resolve to their TypeScript sources (the "source" export condition).
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    include: ['services/*/test/**/*.test.ts', 'cdk8s/test/**/*.test.ts', 'scripts/test/**/*.test.ts'],
    globalSetup: ['./services/kit/src/testing/globalSetup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two files at a time even on 2 cores (vitest's default there is one): the box tests spend most of their
    // minutes waiting on the programs they start, so the rest runs beside them instead of after.
    maxWorkers: 2,
    // Tests build the kind profile unless they name another config (a developer's courseops.config.yaml stays out).
    env: { COURSEOPS_CONFIG: new URL('./cdk8s/test/fixtures/kind.config.yaml', import.meta.url).pathname },
  },
});
