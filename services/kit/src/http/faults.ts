import type { RequestHandler } from 'express';
import { HttpError } from './errors.js';

/**
 * FAULT_RATE, the canary demo's switch: answers that share of requests with a 500 `internal` before
 * any route runs (so nothing is written), as a bad release would. /healthz, /readyz and /metrics are
 * registered earlier and never fail, so a faulty pod stays ready and keeps being scraped: it is the
 * analysis that has to catch it. Injected answers carry no route (`route="unmatched"` in the metrics).
 */
export function injectFaults(rate: number, random: () => number = Math.random): RequestHandler {
  if (!(rate >= 0 && rate <= 1)) throw new RangeError(`fault rate must be between 0 and 1, got ${rate}`);
  return (_req, _res, next) => {
    next(random() < rate ? new HttpError('internal', 'injected fault (FAULT_RATE)') : undefined);
  };
}
