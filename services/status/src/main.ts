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
    faultRate: env.FAULT_RATE,
  },
  {
    targets: env.STATUS_TARGETS,
    probeIntervalMs: env.PROBE_INTERVAL_MS,
    degradedLatencyMs: env.DEGRADED_LATENCY_MS,
    alertWebhookToken: env.ALERT_WEBHOOK_TOKEN,
  },
);
await serve(service, env.PORT, env.SHUTDOWN_DELAY_MS);
