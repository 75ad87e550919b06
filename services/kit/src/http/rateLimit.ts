import type { RequestHandler } from 'express';
import { rateLimit } from 'express-rate-limit';
import { errorBody } from './errors.js';

/** Probe and scrape endpoints are never limited: the platform must always see the service. */
export const exemptPaths = new Set(['/healthz', '/readyz', '/metrics']);

/** Per-client-IP limit (req.ip, which `trust proxy` makes the real client behind the ingress). */
export function perClientRateLimit(limitPerMinute: number): RequestHandler {
  return rateLimit({
    windowMs: 60_000,
    limit: limitPerMinute,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    skip: (req) => exemptPaths.has(req.path),
    handler: (_req, res) => {
      res.status(429).json(errorBody('rate_limited', `more than ${limitPerMinute} requests a minute from this client`));
    },
  });
}
