import type { AddressInfo } from 'node:net';
import { createLogger, createMetrics, memoryLogStream, PROBE_ROUTES } from '@courseops/kit';
import express from 'express';
import { ipKeyGenerator } from 'express-rate-limit';
import { describe, expect, it } from 'vitest';
import { clientKeys, perClientRateLimit } from '../src/http/rateLimit.js';

/**
 * An app with only the limiter in front of its routes (the probe paths included, which createServiceApp
 * answers before the limiter), on a loopback port, believing X-Forwarded-For from the test client.
 * `createdPerRequest` makes a new limiter for every request, a mistake the library reports.
 */
async function serveLimited(limit: number, { createdPerRequest = false } = {}) {
  const stream = memoryLogStream();
  const logger = createLogger({ service: 'kit', version: '0.0.0', level: 'info', metrics: createMetrics(), stream });
  const app = express();
  app.set('trust proxy', ['loopback']);
  app.use(createdPerRequest ? (req, res, next) => perClientRateLimit(limit, logger)(req, res, next) : perClientRateLimit(limit, logger));
  for (const path of ['/', ...PROBE_ROUTES]) app.get(path, (_req, res) => void res.json({ ok: true }));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${url}${path}`, { headers });
  const close = async () => {
    server.close();
    server.closeAllConnections();
    // The library's checks report after the answer; let their lines land.
    await new Promise((r) => setImmediate(r));
  };
  return { get, from: (ip: string) => get('/', { 'x-forwarded-for': ip }).then((r) => r.status), close, lines: stream.lines };
}

describe('the remembered rate-limit key', () => {
  it("is the library's own key: plain IPv4 for a mapped address, the /56 for IPv6", () => {
    const keyOf = clientKeys();
    for (const ip of ['203.0.113.7', '::ffff:203.0.113.7', '2001:db8:abcd:12ff::1', '2001:db8:abcd:1200::2', '::1', '']) {
      expect(keyOf(ip), ip).toBe(ipKeyGenerator(ip));
      expect(keyOf(ip), `${ip}, remembered`).toBe(ipKeyGenerator(ip));
    }
    expect(keyOf('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(keyOf('2001:db8:abcd:12ff::1')).toBe(keyOf('2001:db8:abcd:1200::2'));
  });

  it('remembers at most its bound of addresses, forgetting the oldest, and still answers a forgotten one right', () => {
    const remembered = new Map<string, string>();
    const keyOf = clientKeys(2, remembered);
    for (const ip of ['::ffff:192.0.2.1', '::ffff:192.0.2.2', '::ffff:192.0.2.3']) keyOf(ip);
    expect([...remembered.keys()]).toEqual(['::ffff:192.0.2.2', '::ffff:192.0.2.3']);
    expect(keyOf('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(remembered.size).toBe(2);
  });

  it('looks a remembered address up without computing it again or changing what it remembers', () => {
    const remembered = new Map<string, string>();
    const keyOf = clientKeys(2, remembered);
    for (const ip of ['::ffff:192.0.2.1', '::ffff:192.0.2.2', '::ffff:192.0.2.1']) keyOf(ip);
    expect([...remembered]).toEqual([
      ['::ffff:192.0.2.1', '192.0.2.1'],
      ['::ffff:192.0.2.2', '192.0.2.2'],
    ]);
  });

  it('limits per client with it, and the library reports no misconfiguration', async () => {
    const limited = await serveLimited(2);
    const { from } = limited;
    try {
      // An IPv4 client seen as plain and as mapped IPv6 is one client; another one has a bucket of its own.
      expect([await from('203.0.113.7'), await from('::ffff:203.0.113.7'), await from('203.0.113.7')]).toEqual([200, 200, 429]);
      expect(await from('2001:db8:abcd:12ff::1')).toBe(200);
      expect(await from('2001:db8:abcd:1200::2')).toBe(200);
      expect(await from('2001:db8:abcd:1201::2')).toBe(429);
      expect(await from('198.51.100.9')).toBe(200);
      // A client's own Forwarded header (RFC 7239) is ignored, not reported as a misconfiguration.
      expect((await limited.get('/', { 'x-forwarded-for': '192.0.2.44', forwarded: 'for=192.0.2.45' })).status).toBe(200);
    } finally {
      await limited.close();
    }
    expect(limited.lines.filter((l) => l['log.level'] !== 'info')).toEqual([]);
  });

  it('never limits health, readiness and metrics, nor counts them against the client', async () => {
    const limited = await serveLimited(2);
    try {
      expect([await limited.from('203.0.113.8'), await limited.from('203.0.113.8'), await limited.from('203.0.113.8')]).toEqual([200, 200, 429]);
      for (const path of PROBE_ROUTES) {
        for (let i = 0; i < 3; i++) expect((await limited.get(path, { 'x-forwarded-for': '203.0.113.8' })).status, path).toBe(200);
        for (let i = 0; i < 3; i++) expect((await limited.get(path, { 'x-forwarded-for': '203.0.113.9' })).status, path).toBe(200);
      }
      expect(await limited.from('203.0.113.9')).toBe(200);
    } finally {
      await limited.close();
    }
  });

  it('answers 429 rate_limited naming the limit, with the draft-8 RateLimit headers and no legacy X-RateLimit ones', async () => {
    const limited = await serveLimited(2);
    try {
      const first = await limited.get('/', { 'x-forwarded-for': '203.0.113.10' });
      // The policy carries a partition key (pk) after it: a hash of the client's key.
      expect(first.headers.get('ratelimit-policy')).toMatch(/^"2-in-1min"; q=2; w=60; pk=/);
      expect(first.headers.get('ratelimit')).toMatch(/^"2-in-1min"; r=1; t=60/);
      expect(first.headers.get('x-ratelimit-limit')).toBeNull();
      await limited.get('/', { 'x-forwarded-for': '203.0.113.10' });
      const refused = await limited.get('/', { 'x-forwarded-for': '203.0.113.10' });
      expect(refused.status).toBe(429);
      expect(refused.headers.get('x-ratelimit-remaining')).toBeNull();
      expect(((await refused.json()) as { error: unknown }).error).toMatchObject({ code: 'rate_limited', message: 'more than 2 requests a minute from this client' });
    } finally {
      await limited.close();
    }
  });

  it("puts the library's configuration checks in the JSON log: a mistake as an error, a change of meaning as a warning", async () => {
    // A limiter made while answering a request would keep its counts for that request only.
    const perRequest = await serveLimited(5, { createdPerRequest: true });
    try {
      await perRequest.from('203.0.113.11');
    } finally {
      await perRequest.close();
    }
    expect(perRequest.lines.filter((l) => l['log.level'] !== 'info')).toEqual([
      expect.objectContaining({ 'log.level': 'error', 'error.code': 'ERR_ERL_CREATED_IN_REQUEST_HANDLER', message: expect.stringMatching(/^rate limit: express-rate-limit instance should/) }),
    ]);

    // A limit of 0 refuses everything, which older versions of the library took as "no limit".
    const zero = await serveLimited(0);
    try {
      expect(await zero.from('203.0.113.12')).toBe(429);
    } finally {
      await zero.close();
    }
    expect(zero.lines.filter((l) => l['log.level'] !== 'info')).toEqual([
      expect.objectContaining({ 'log.level': 'warn', 'error.code': 'WRN_ERL_MAX_ZERO', message: expect.stringMatching(/^rate limit: Setting limit or max to 0/) }),
    ]);
  });
});
