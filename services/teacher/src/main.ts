import { commonEnvSchema, intEnv, readEnv, serve } from '@courseops/kit';
import { z } from 'zod';
import { createTeacherService } from './service.js';

const env = readEnv(
  commonEnvSchema.extend({
    PORT: intEnv(3002, 1, 65535),
    COURSE_SERVICE_URL: z.preprocess((v) => (v === '' ? undefined : v), z.url({ protocol: /^https?$/ }).default('http://localhost:3001')),
    COURSE_SERVICE_TIMEOUT_MS: intEnv(1000, 1, 60_000),
  }),
);
const service = await createTeacherService({
  databaseUrl: env.DATABASE_URL,
  dataDir: env.DATA_DIR,
  logLevel: env.LOG_LEVEL,
  rateLimitPerMinute: env.RATE_LIMIT_PER_MINUTE,
  trustedProxies: env.TRUSTED_PROXIES,
  faultRate: env.FAULT_RATE,
  dbStatementTimeoutMs: env.DB_STATEMENT_TIMEOUT_MS,
  dbPoolWaitMs: env.DB_POOL_WAIT_MS,
  courseServiceUrl: env.COURSE_SERVICE_URL,
  courseServiceTimeoutMs: env.COURSE_SERVICE_TIMEOUT_MS,
});
await serve(service, env.PORT, env.SHUTDOWN_DELAY_MS);
