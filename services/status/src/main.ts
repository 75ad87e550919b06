import { readEnv, serve } from '@courseops/kit';
import { statusEnvSchema } from './config.js';
import { createStatusService } from './service.js';

const env = readEnv(statusEnvSchema);
const service = await createStatusService(
  {
    databaseUrl: env.DATABASE_URL,
    dataDir: env.DATA_DIR,
    logLevel: env.LOG_LEVEL,
    rateLimitPerMinute: env.RATE_LIMIT_PER_MINUTE,
    trustedProxies: env.TRUSTED_PROXIES,
    faultRate: env.FAULT_RATE,
    dbStatementTimeoutMs: env.DB_STATEMENT_TIMEOUT_MS,
    dbPoolWaitMs: env.DB_POOL_WAIT_MS,
  },
  {
    targets: env.STATUS_TARGETS,
    probeIntervalMs: env.PROBE_INTERVAL_MS,
    degradedLatencyMs: env.DEGRADED_LATENCY_MS,
    alertWebhookToken: env.ALERT_WEBHOOK_TOKEN,
    maxOpenIncidents: env.MAX_OPEN_INCIDENTS,
  },
);
await serve(service, env.PORT, env.SHUTDOWN_DELAY_MS);
