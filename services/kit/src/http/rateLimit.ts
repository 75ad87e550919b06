import type { RequestHandler } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import { PROBE_ROUTES } from '../contract.js';
import type { Logger } from '../logger.js';
import { errorBody } from './errors.js';

/** Probe and scrape endpoints are never limited: the platform must always see the service. */
export const exemptPaths = new Set<string>(PROBE_ROUTES);

/** How many client addresses `clientKeys` remembers; past that it forgets the oldest. */
export const rememberedClientKeys = 1000;

/**
 * The library's key for an address (`ipKeyGenerator`: a mapped IPv4 address as plain IPv4, an IPv6 address
 * as its /56), remembered per address. The library parses every IPv6 address again on every request
 * (with `ip-address`), and a dual-stack socket shows every IPv4 client as one (`::ffff:a.b.c.d`), so that
 * parse was a few percent of a request's CPU for the same handful of addresses. Bounded, so a client
 * rotating addresses can't grow it without end.
 */
export function clientKeys(max = rememberedClientKeys, keys = new Map<string, string>()): (ip: string) => string {
  return (ip) => {
    let key = keys.get(ip);
    if (key === undefined) {
      key = ipKeyGenerator(ip);
      // A Map iterates in insertion order: the first key is the oldest.
      if (keys.size >= max) keys.delete(keys.keys().next().value!);
      keys.set(ip, key);
    }
    return key;
  };
}

/**
 * Per-client limit, keyed by `req.ip`: the socket peer, or the client a peer in TRUSTED_PROXIES forwarded
 * (see http/clientAddress.ts). The library's default key keeps an IPv4 client on a dual-stack socket as
 * its plain address and an IPv6 client as its /56, so rotating addresses inside one's own block doesn't
 * buy a new bucket.
 */
export function perClientRateLimit(limitPerMinute: number, logger: Logger): RequestHandler {
  const keyOf = clientKeys();
  // The library's configuration checks land in the JSON logs, not as bare
  // console text, so a misconfiguration shows where every other problem does.
  const report = (level: 'warn' | 'error') => (problem: unknown) =>
    logger.log(level, `rate limit: ${problem instanceof Error ? problem.message : String(problem)}`, {
      'error.code': (problem as { code?: unknown } | undefined)?.code,
    });
  return rateLimit({
    windowMs: 60_000,
    limit: limitPerMinute,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    skip: (req) => exemptPaths.has(req.path),
    // The default key, remembered. `req.ip` is undefined only once the socket is gone; such a request
    // shares the '' bucket (the default would share 'undefined').
    keyGenerator: (req) => keyOf(req.ip ?? ''),
    // What the default `identifier` computes on every request, once.
    identifier: `${limitPerMinute}-in-1min`,
    logger: { warn: report('warn'), error: report('error') },
    // The library tells a custom key that uses `req.ip` by its source text, which can't see that `keyOf`
    // goes through its `ipKeyGenerator`. (Its request checks, such as the one that reports a client's own
    // `Forwarded` header, run only in its default key, so none needs turning off.)
    validate: { keyGeneratorIpFallback: false },
    handler: (_req, res) => {
      res.status(429).json(errorBody('rate_limited', `more than ${limitPerMinute} requests a minute from this client`));
    },
  });
}
