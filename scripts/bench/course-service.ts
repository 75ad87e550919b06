/**
 * The course service as main.ts runs it, for `npm run bench`, with one switch more:
 * INSTRUMENTED=false builds it without request metrics and access logs, to measure what they cost.
 */
import { commonEnvSchema, intEnv, readEnv, serve } from '@courseops/kit';
import { z } from 'zod';
import { createCourseService } from '../../services/course/src/service.js';

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
