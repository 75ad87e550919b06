import type { AddressInfo } from 'node:net';
import { createLogger, createMetrics, memoryLogStream } from '@courseops/kit';
import express from 'express';
import { ipKeyGenerator } from 'express-rate-limit';
import { describe, expect, it } from 'vitest';
import { clientKeys, perClientRateLimit } from '../src/http/rateLimit.js';

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

  it('limits per client with it, and the library reports no misconfiguration', async () => {
    const stream = memoryLogStream();
    const logger = createLogger({ service: 'kit', version: '0.0.0', level: 'info', metrics: createMetrics(), stream });
    const app = express();
    app.set('trust proxy', ['loopback']);
    app.use(perClientRateLimit(2, logger));
    app.get('/', (_req, res) => void res.json({ ok: true }));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const from = (ip: string) => fetch(url, { headers: { 'x-forwarded-for': ip } }).then((r) => r.status);
    try {
      // An IPv4 client seen as plain and as mapped IPv6 is one client; another one has a bucket of its own.
      expect([await from('203.0.113.7'), await from('::ffff:203.0.113.7'), await from('203.0.113.7')]).toEqual([200, 200, 429]);
      expect(await from('2001:db8:abcd:12ff::1')).toBe(200);
      expect(await from('2001:db8:abcd:1200::2')).toBe(200);
      expect(await from('2001:db8:abcd:1201::2')).toBe(429);
      expect(await from('198.51.100.9')).toBe(200);
    } finally {
      server.close();
    }
    await new Promise((r) => setImmediate(r));
    expect(stream.lines.filter((l) => l['log.level'] !== 'info')).toEqual([]);
  });
});
