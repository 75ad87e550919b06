import { buildService, openApiRoute, packageVersion, type BuiltService, type Database, type ServiceSettings } from '@courseops/kit';
import type { Target } from './config.js';
import { createStatusMetrics } from './metrics.js';
import { statusDocument } from './openapi.js';
import { Prober } from './prober.js';
import { StatusReporter } from './report.js';
import { alertRoutes, statusRoutes } from './routes.js';
import { schema } from './schema.js';

export const migrationsFolder = new URL('../drizzle', import.meta.url).pathname;

/** API.md "Status service": MAX_OPEN_INCIDENTS. */
export const defaultMaxOpenIncidents = 500;

export interface StatusOptions {
  targets: Target[];
  probeIntervalMs: number;
  degradedLatencyMs: number;
  /** Default: 5 s, and always well above the degraded threshold so "slow" can be told from "down". */
  probeTimeoutMs?: number;
  alertWebhookToken?: string | undefined;
  /** MAX_OPEN_INCIDENTS; default 500. */
  maxOpenIncidents?: number;
  /** How long a computed report is served again while nothing was recorded; default 5 s (tests shorten it). */
  reportMaxAgeMs?: number;
}

export interface StatusService extends BuiltService {
  prober: Prober;
  reporter: StatusReporter;
  /** For tests and maintenance scripts that read or seed the history directly. */
  database: Database<typeof schema>;
}

/** The status service: probes the other services, takes Alertmanager's incidents, serves the status page. */
export async function createStatusService(settings: ServiceSettings, options: StatusOptions): Promise<StatusService> {
  const version = packageVersion(new URL('../package.json', import.meta.url));
  let parts: Pick<StatusService, 'prober' | 'reporter' | 'database'> | undefined;
  const service = await buildService({ name: 'status', version, schema, migrationsFolder }, settings, ({ database, metrics, logger }) => {
    const maxOpenIncidents = options.maxOpenIncidents ?? defaultMaxOpenIncidents;
    const reporter = new StatusReporter(database, options.targets, options.reportMaxAgeMs);
    const counters = createStatusMetrics(metrics);
    const prober = new Prober(
      {
        targets: options.targets,
        intervalMs: options.probeIntervalMs,
        probe: {
          degradedLatencyMs: options.degradedLatencyMs,
          timeoutMs: options.probeTimeoutMs ?? Math.max(5000, 2 * options.degradedLatencyMs),
        },
      },
      { database, logger, probeCounter: counters.probes, onRecorded: () => reporter.invalidate() },
    );
    parts = { prober, reporter, database };

    if (!options.alertWebhookToken) logger.warn('ALERT_WEBHOOK_TOKEN is not set: every POST /api/alerts is refused with 401');
    if (options.targets.length === 0) logger.warn('STATUS_TARGETS is empty: no service is probed');
    else logger.info(`probing ${options.targets.map((t) => t.name).join(', ')} every ${options.probeIntervalMs} ms`);
    prober.start();

    const document = statusDocument(version);
    return {
      routes: (app) => {
        app.get('/openapi.json', openApiRoute(document));
        statusRoutes(app, reporter);
        alertRoutes(app, {
          database,
          reporter,
          token: options.alertWebhookToken,
          alertsReceived: counters.alertsReceived,
          incidentsShed: counters.incidentsShed,
          maxOpenIncidents,
          logger,
        });
      },
      release: () => prober.stop(),
    };
  });
  return { ...service, ...parts! };
}
