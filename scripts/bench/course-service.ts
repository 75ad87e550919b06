/**
 * The course service as its image runs it (compiled by `tsc -b`, plain JavaScript), for `npm run bench`,
 * with one switch more: INSTRUMENTED=false builds it without request metrics and access logs, to measure
 * what they cost. Run it without the `source` condition, so `@courseops/kit` is the compiled kit too.
 */
import { commonEnvSchema, intEnv, readEnv, serve } from '@courseops/kit';
import { z } from 'zod';

// The compiled module, typed by its source; scripts/bench.ts builds it first.
const compiled = new URL('../../services/course/dist/service.js', import.meta.url).href;
const { createCourseService } = (await import(compiled)) as typeof import('../../services/course/src/service.js');

const env = readEnv(
  commonEnvSchema.extend({
    PORT: intEnv(3001, 1, 65535),
    INSTRUMENTED: z.enum(['true', 'false']).default('true'),
  }),
);
const service = await createCourseService({
  databaseUrl: env.DATABASE_URL,
  dataDir: env.DATA_DIR,
  logLevel: env.LOG_LEVEL,
  rateLimitPerMinute: env.RATE_LIMIT_PER_MINUTE,
  instrumented: env.INSTRUMENTED === 'true',
});
await serve(service, env.PORT, env.SHUTDOWN_DELAY_MS);
