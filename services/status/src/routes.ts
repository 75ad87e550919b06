import { jsonBody, parseBody, type Database } from '@courseops/kit';
import type { Express } from 'express';
import type { Counter } from 'prom-client';
import { recordAlerts, webhookSchema } from './alerts.js';
import { requireBearerToken } from './auth.js';
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

export interface AlertDeps {
  database: Database<typeof schema>;
  reporter: StatusReporter;
  /** ALERT_WEBHOOK_TOKEN; unset refuses every call. */
  token: string | undefined;
  /** status_alerts_received_total{status} */
  alertsReceived: Counter<'status'>;
}

/**
 * POST /api/alerts: Alertmanager's webhook (API.md "Status service"). On the app, not a sub-router, so
 * other methods get the JSON 404 like every other path (a router would answer OPTIONS itself, in text).
 */
export function alertRoutes(app: Express, deps: AlertDeps): void {
  // The token is checked before the body is even parsed: strangers get a 401 and nothing more.
  app.post('/api/alerts', requireBearerToken(deps.token), ...jsonBody, async (req, res) => {
    const payload = parseBody(webhookSchema, req);
    const { opened, resolved } = await recordAlerts(deps.database, payload.alerts);
    for (const alert of payload.alerts) deps.alertsReceived.inc({ status: alert.status });
    if (opened + resolved > 0) deps.reporter.invalidate();
    res.json({ received: payload.alerts.length, opened, resolved });
  });
}
