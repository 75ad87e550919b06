import { isIP } from 'node:net';
import type { RequestHandler } from 'express';

/**
 * Who a client is (API.md "limits"): the socket peer, unless that peer is in TRUSTED_PROXIES; then the
 * address it forwarded in X-Forwarded-For, and so on leftwards while each hop is trusted. Express does that
 * walk (`trust proxy` set to the list, see createServiceApp); this module reads the list and keeps non-addresses
 * out of the walk.
 */

/** An address a client can be: what `net.isIP` accepts, without an IPv6 zone (`%eth0` only means something on the host that wrote it). */
export const isClientAddress = (value: string): boolean => isIP(value) !== 0 && !value.includes('%');

/** Why a TRUSTED_PROXIES entry is not a CIDR (`10.244.0.0/16`, `::1/128`) or a single address, or undefined if it is one. */
export function cidrProblem(entry: string): string | undefined {
  const [address = '', prefix, ...rest] = entry.split('/');
  const family = isClientAddress(address) ? isIP(address) : 0;
  if (family === 0 || rest.length > 0) return `"${entry}" is not a CIDR (an IP address, optionally /prefix, e.g. 10.244.0.0/16)`;
  const maxPrefix = family === 4 ? 32 : 128;
  if (prefix !== undefined && !(/^\d{1,3}$/.test(prefix) && Number(prefix) <= maxPrefix)) {
    return `"${entry}" has prefix length "${prefix}", not 0-${maxPrefix}`;
  }
  return undefined;
}

/** The entries of a comma-separated TRUSTED_PROXIES value (blanks ignored); validate them with `cidrProblem`. */
export const trustedProxyEntries = (value: string | undefined): string[] =>
  (value ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');

/**
 * Cuts X-Forwarded-For at its rightmost entry that is not an address, so `req.ip` (and with it the rate-limit
 * key, the access log's `client.ip` and the address forwarded to other services) is never a non-address.
 * A trusted proxy that forwarded garbage told us nothing about who is behind it: the client is then the
 * nearest valid address (that proxy), and nothing left of the garbage is believed either. Express's own walk
 * would otherwise stop at the garbage and return it as the client.
 */
export const dropUnbelievableForwardedFor: RequestHandler = (req, _res, next) => {
  const header = req.get('x-forwarded-for');
  if (header !== undefined) {
    const hops = header.split(',').map((hop) => hop.trim());
    const lastBad = hops.findLastIndex((hop) => !isClientAddress(hop));
    if (lastBad !== -1) {
      const believable = hops.slice(lastBad + 1);
      if (believable.length > 0) req.headers['x-forwarded-for'] = believable.join(', ');
      else delete req.headers['x-forwarded-for'];
    }
  }
  next();
};
