import express, { type Express, type RequestHandler } from 'express';
import helmet from 'helmet';
import { errorHandler, notFoundHandler } from './http/errors.js';
import { injectFaults } from './http/faults.js';
import { instrument } from './http/instrument.js';
import { perClientRateLimit } from './http/rateLimit.js';
import { requestId } from './http/requestId.js';
import { requireJson } from './http/validation.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import type { Readiness } from './readiness.js';

export interface ServiceAppOptions {
  logger: Logger;
  metrics: Metrics;
  readiness: Readiness;
  rateLimitPerMinute: number;
  /** Metrics and access logs; off only in the benchmark that measures what they cost. */
  instrumented?: boolean;
  /** FAULT_RATE: the share of API requests answered 500 on purpose (the canary demo); 0 by default. */
  faultRate?: number;
}

/** JSON bodies up to 16 KiB, declared as application/json; put on each route that takes a body. */
export const jsonBody: RequestHandler[] = [requireJson, express.json({ limit: '16kb', type: 'application/json', strict: true })];

/**
 * An express app with the conventions of API.md in place: request ids, metrics, access logs,
 * security headers, /healthz /readyz /metrics, rate limit. The service adds its routes with `routes`,
 * which also puts the 404 and error handlers last.
 */
export function createServiceApp(options: ServiceAppOptions, routes: (app: Express) => void): Express {
  const { logger, metrics, readiness } = options;
  const app = express();
  app.disable('x-powered-by');
  // One proxy hop (the ingress) in front: req.ip is the real client, so the rate limit is per client.
  app.set('trust proxy', 1);

  app.use(requestId);
  if (options.instrumented !== false) app.use(instrument(metrics, logger));
  // No upgrade-insecure-requests: `npm run dev` serves plain HTTP on localhost, where the upgrade would
  // send the status page's refresh to an https:// nobody listens on; in the cluster TLS ends at the ingress.
  app.use(helmet({ contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } } }));
  app.use(closeConnectionsWhenDraining(readiness));

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const report = await readiness.report();
    res.status(report.ready ? 200 : 503).json(report.body);
  });
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  app.use(perClientRateLimit(options.rateLimitPerMinute));
  if (options.faultRate) {
    logger.warn(`FAULT_RATE=${options.faultRate}: this share of API requests fails with a 500 on purpose`);
    app.use(injectFaults(options.faultRate));
  }
  routes(app);
  app.use(notFoundHandler);
  app.use(errorHandler(logger));
  return app;
}

/**
 * Once the listener is closed at the end of the shutdown delay, answers carry `Connection: close`, so
 * keep-alive clients reconnect (to another pod, or are refused here) instead of being cut off. Not
 * earlier: a client told to reconnect during the delay comes straight back, and whoever is still in the
 * kernel's accept queue when the listener closes is reset after sending its request.
 */
const closeConnectionsWhenDraining =
  (readiness: Readiness): RequestHandler =>
  (_req, res, next) => {
    if (readiness.isClosingConnections) res.setHeader('Connection', 'close');
    next();
  };
