import type { Express, NextFunction, Request, RequestHandler, Response, Router } from 'express';
import type { Logger } from '../logger.js';
import { methodLabel, type Metrics } from '../metrics.js';
import { requestIdHeader } from './requestId.js';

/**
 * The route template (`/api/courses/:id`), never the raw path, so ids and user input can't create series.
 * Requests no route claimed are `unmatched`. The router resets `req.baseUrl` once a request leaves it
 * (an error on the way out, say), so routers are mounted with `mount`, which remembers their prefix.
 */
export function routeLabel(req: Request, res: Response): string {
  const path = req.route?.path;
  if (typeof path !== 'string') return 'unmatched';
  const prefix = typeof res.locals.routePrefix === 'string' ? res.locals.routePrefix : req.baseUrl;
  return path === '/' && prefix ? prefix : `${prefix}${path}`;
}

/** `app.use(prefix, router)`, remembering the prefix for the route label. */
export function mount(app: Express, prefix: string, router: Router): void {
  app.use(
    prefix,
    (_req: Request, res: Response, next: NextFunction) => {
      res.locals.routePrefix = prefix;
      next();
    },
    router,
  );
}

/** IPv4 clients on a dual-stack socket show as ::ffff:a.b.c.d; Kibana groups by the plain address. */
function plainClientIp(ip: string | undefined): string | undefined {
  return ip?.startsWith('::ffff:') && /^::ffff:\d+\.\d+\.\d+\.\d+$/.test(ip) ? ip.slice(7) : ip;
}

/** Request metrics and one ECS access log line per request. */
export function instrument(metrics: Metrics, logger: Logger): RequestHandler {
  return (req, res, next) => {
    const start = process.hrtime.bigint();
    const path = req.path;
    metrics.httpRequestsInFlight.inc();
    const record = () => {
      metrics.httpRequestsInFlight.dec();
      const durationNs = process.hrtime.bigint() - start;
      // A client that hung up before the answer was written is logged as 499, the ingress-nginx convention.
      const status = res.writableFinished ? res.statusCode : 499;
      const labels = { method: methodLabel(req.method), route: routeLabel(req, res), status_code: String(status) };
      metrics.httpRequestsTotal.inc(labels);
      metrics.httpRequestDuration.observe(labels, Number(durationNs) / 1e9);
      logger.logLine(status >= 500 ? 'error' : 'info', `${req.method} ${path} ${status}`, {
        'http.request.id': res.getHeader(requestIdHeader),
        'http.request.method': req.method,
        'url.path': path,
        'http.response.status_code': status,
        'event.duration': Number(durationNs),
        'event.kind': 'event',
        'event.category': ['web'],
        'client.ip': plainClientIp(req.ip),
        'user_agent.original': req.get('user-agent'),
        'http.route': labels.route,
      });
    };
    // 'close' comes once, after 'finish' for an answer that was sent and alone when the client hung up
    // (`on`, not `once`, saves once's wrapper and the listener's removal on every request).
    res.on('close', record);
    next();
  };
}
