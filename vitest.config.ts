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
    // Tests build the kind profile unless they name another config (a developer's courseops.config.yaml stays out).
    env: { COURSEOPS_CONFIG: new URL('./cdk8s/test/fixtures/kind.config.yaml', import.meta.url).pathname },
  },
});
