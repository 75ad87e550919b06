import { commonEnvSchema, intEnv, readEnv, serve } from '@courseops/kit';
import { createCourseService } from './service.js';

const env = readEnv(commonEnvSchema.extend({ PORT: intEnv(3001, 1, 65535) }));
const service = await createCourseService({
  databaseUrl: env.DATABASE_URL,
  dataDir: env.DATA_DIR,
  logLevel: env.LOG_LEVEL,
  rateLimitPerMinute: env.RATE_LIMIT_PER_MINUTE,
  trustedProxies: env.TRUSTED_PROXIES,
  faultRate: env.FAULT_RATE,
  dbStatementTimeoutMs: env.DB_STATEMENT_TIMEOUT_MS,
  dbPoolWaitMs: env.DB_POOL_WAIT_MS,
});
await serve(service, env.PORT, env.SHUTDOWN_DELAY_MS);
