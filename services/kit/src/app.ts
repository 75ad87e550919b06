import express, { type Express, type RequestHandler } from 'express';
import helmet from 'helmet';
import { errorHandler, notFoundHandler } from './http/errors.js';
import { requireHostHeader } from './http/hostHeader.js';
import { dropUnbelievableForwardedFor } from './http/clientAddress.js';
import { injectFaults } from './http/faults.js';
import { instrument } from './http/instrument.js';
import { refuseOptions } from './http/options.js';
import { perClientRateLimit } from './http/rateLimit.js';
import { requestId } from './http/requestId.js';
import { requireJson } from './http/validation.js';
import { refuseNonUtf8Body } from './http/utf8Body.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import type { Readiness } from './readiness.js';

export interface ServiceAppOptions {
  logger: Logger;
  metrics: Metrics;
  readiness: Readiness;
  rateLimitPerMinute: number;
  /** TRUSTED_PROXIES: CIDRs whose X-Forwarded-For is believed (see http/clientAddress.ts); empty: none is. */
  trustedProxies: readonly string[];
  /** Metrics and access logs; off only in the benchmark that measures what they cost. */
  instrumented?: boolean;
  /** FAULT_RATE: the share of API requests answered 500 on purpose (the canary demo); 0 by default. */
  faultRate?: number;
}

/** JSON bodies up to 16 KiB, declared as application/json, in UTF-8; put on each route that takes a body. */
export const jsonBody: RequestHandler[] = [
  requireJson,
  express.json({ limit: '16kb', type: 'application/json', strict: true, verify: refuseNonUtf8Body }),
];

/**
 * An express app with the conventions of API.md in place: request ids, metrics, access logs,
 * security headers, /healthz /readyz /metrics, rate limit. The service adds its routes with `routes`,
 * which also puts the 404 and error handlers last.
 */
export function createServiceApp(options: ServiceAppOptions, routes: (app: Express) => void): Express {
  const { logger, metrics, readiness } = options;
  const app = express();
  app.disable('x-powered-by');
  // req.ip is the socket peer, or what a peer in TRUSTED_PROXIES forwarded (proxy-addr's walk); an empty
  // list believes no one, the deliberate default (API.md "limits").
  app.set('trust proxy', [...options.trustedProxies]);
  // No ETag: express would hash (SHA-1) every GET answer's body to make one, and nothing here is ever
  // revalidated with it. API answers are not cached (API.md gives them no validators), and the answers
  // that ask for revalidation, the status page and /api/status (Cache-Control: no-cache), carry their
  // generation time to the millisecond, so a tag could match only within the report's 5 s cache: a
  // revalidation almost always got the full answer anyway, as it now always does.
  app.set('etag', false);

  app.use(dropUnbelievableForwardedFor);
  app.use(requestId);
  if (options.instrumented !== false) app.use(instrument(metrics, logger));
  // No upgrade-insecure-requests: `npm run dev` serves plain HTTP on localhost, where the upgrade would
  // send the status page's refresh to an https:// nobody listens on; in the cluster TLS ends at the ingress.
  app.use(helmet({ contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } } }));
  app.use(closeConnectionsWhenDraining(readiness));
  app.use(requireHostHeader);

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

  app.use(perClientRateLimit(options.rateLimitPerMinute, logger));
  if (options.faultRate) {
    logger.warn(`FAULT_RATE=${options.faultRate}: this share of API requests fails with a 500 on purpose`);
    app.use(injectFaults(options.faultRate));
  }
  app.use(refuseOptions);
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
