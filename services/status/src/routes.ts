import { jsonBody, parseBody, type Database, type Logger } from '@courseops/kit';
import type { Express } from 'express';
import type { Counter } from 'prom-client';
import { z } from 'zod';
import { recordAlerts, webhookSchema } from './alerts.js';
import { requireBearerToken } from './auth.js';
import type { BoundResult } from './incidentBound.js';
import { renderStatusPage } from './page.js';
import type { StatusReporter } from './report.js';
import type { schema } from './schema.js';

/** GET / and GET /api/status: the same report, as a page and as JSON. */
export function statusRoutes(app: Express, reporter: StatusReporter): void {
  app.get('/', async (_req, res) => {
    const report = await reporter.report();
    // Always the current state: a browser or proxy must revalidate rather than show an old outage (or hide a new one).
    res.setHeader('Cache-Control', 'no-cache');
    res.type('html').send(renderStatusPage(report));
  });

  app.get('/api/status', async (_req, res) => {
    const report = await reporter.report();
    res.setHeader('Cache-Control', 'no-cache');
    res.json(report);
  });
}

/** The answer to a webhook notification: its alerts, and how many incidents they opened and resolved. */
export const alertsReceiptSchema = z.object({ received: z.number().int(), opened: z.number().int(), resolved: z.number().int() });
export type AlertsReceipt = z.infer<typeof alertsReceiptSchema>;

export interface AlertDeps {
  database: Database<typeof schema>;
  reporter: StatusReporter;
  /** ALERT_WEBHOOK_TOKEN; unset refuses every call. */
  token: string | undefined;
  /** status_alerts_received_total{status} */
  alertsReceived: Counter<'status'>;
  /** status_incidents_shed_total */
  incidentsShed: Counter;
  /** MAX_OPEN_INCIDENTS */
  maxOpenIncidents: number;
  logger: Logger;
}

/**
 * POST /api/alerts: Alertmanager's webhook (API.md "Status service"). Other methods, OPTIONS included,
 * get the JSON 404 like every other path (the kit's refuseOptions, http/options.ts).
 */
export function alertRoutes(app: Express, deps: AlertDeps): void {
  // The token is checked before the body is even parsed: strangers get a 401 and nothing more.
  app.post('/api/alerts', requireBearerToken(deps.token), ...jsonBody, async (req, res) => {
    const payload = parseBody(webhookSchema, req);
    const { opened, resolved, bound } = await recordAlerts(deps.database, payload.alerts, deps.maxOpenIncidents);
    for (const alert of payload.alerts) deps.alertsReceived.inc({ status: alert.status });
    if (bound) reportBound(deps, bound);
    if (opened + resolved > 0) deps.reporter.invalidate();
    const receipt: AlertsReceipt = { received: payload.alerts.length, opened, resolved };
    res.json(receipt);
  });
}

/** Shedding hides alerts from the page, so each notification that sheds says so once, and counts it. */
function reportBound(deps: AlertDeps, bound: BoundResult): void {
  const fields = { 'incidents.shed': bound.shed, 'incidents.open': bound.open, 'incidents.open_critical': bound.openCritical, 'incidents.max_open': deps.maxOpenIncidents };
  if (bound.shed > 0) {
    deps.incidentsShed.inc(bound.shed);
    deps.logger.warn(`more than MAX_OPEN_INCIDENTS (${deps.maxOpenIncidents}) incidents open: shed the ${bound.shed} oldest non-critical`, fields);
  }
  if (bound.openCritical > deps.maxOpenIncidents) {
    deps.logger.warn(`critical incidents alone exceed MAX_OPEN_INCIDENTS (${deps.maxOpenIncidents}): all are kept and shown`, fields);
  }
}
