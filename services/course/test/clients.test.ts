import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drivers, startCourse, type RunningCourse } from './harness.js';

/** Who a client is (API.md "limits"): the socket peer, unless it is in TRUSTED_PROXIES. Tests reach the service from 127.0.0.1. */
const loopback = ['127.0.0.1/32', '::1/128'];
const limit = 3;

/** A GET of the course list with a fresh request id, so its access log line can be found. */
async function list(course: RunningCourse, forwardedFor?: string) {
  const id = randomUUID();
  const res = await course.call('/api/courses', {
    headers: { 'x-request-id': id, ...(forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor }) },
  });
  await res.arrayBuffer();
  return { status: res.status, clientIp: await loggedClientIp(course, id) };
}

/** `client.ip` of the access log line of request `id` (written when the answer is done, so poll briefly). */
async function loggedClientIp(course: RunningCourse, id: string): Promise<unknown> {
  for (let tries = 0; ; tries++) {
    const line = course.logs.lines.find((l) => l['http.request.id'] === id && 'client.ip' in l);
    if (line || tries > 100) return line?.['client.ip'];
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Lines express-rate-limit's configuration checks wrote (they go to the service's log, see rateLimit.ts). */
const rateLimitWarnings = (course: RunningCourse) => course.logs.lines.filter((l) => String(l.message).startsWith('rate limit:'));

describe.each(drivers)('who a client is, on %s', (driver) => {
  describe('with TRUSTED_PROXIES unset', () => {
    let course: RunningCourse;
    beforeAll(async () => {
      course = await startCourse(driver, { rateLimitPerMinute: limit });
    });
    afterAll(() => course?.stop());

    it('believes no X-Forwarded-For: a rotating one still lands in the peer’s one bucket and log line', async () => {
      for (let i = 1; i <= limit; i++) expect(await list(course, `203.0.113.${i}`)).toEqual({ status: 200, clientIp: '127.0.0.1' });
      expect(await list(course, '203.0.113.99')).toEqual({ status: 429, clientIp: '127.0.0.1' });
      expect(await list(course, 'not-an-address')).toEqual({ status: 429, clientIp: '127.0.0.1' });
      expect((await course.call('/api/courses', { headers: { forwarded: 'for=192.0.2.60' } })).status).toBe(429);
      // Ignoring the headers is the configuration, so the rate limiter must not report it as a mistake.
      expect(rateLimitWarnings(course)).toEqual([]);
    });
  });

  describe('behind a trusted proxy', () => {
    let course: RunningCourse;
    beforeAll(async () => {
      course = await startCourse(driver, { rateLimitPerMinute: limit, trustedProxies: loopback });
    });
    afterAll(() => course?.stop());

    it('limits each forwarded client on its own', async () => {
      for (let i = 0; i < limit; i++) expect(await list(course, '203.0.113.7')).toEqual({ status: 200, clientIp: '203.0.113.7' });
      expect(await list(course, '203.0.113.7')).toEqual({ status: 429, clientIp: '203.0.113.7' });
      for (let i = 0; i < limit; i++) expect(await list(course, '198.51.100.9')).toEqual({ status: 200, clientIp: '198.51.100.9' });
      // The proxy's own requests are its own client, too.
      expect(await list(course)).toEqual({ status: 200, clientIp: '127.0.0.1' });
    });

    it('believes a forwarded chain only as far as its trusted hops: a spoofed entry left of the client changes nothing', async () => {
      // 203.0.113.7 is not a proxy we trust, so what it claims (192.0.2.x) is not believed.
      expect(await list(course, '192.0.2.1, 203.0.113.7')).toEqual({ status: 429, clientIp: '203.0.113.7' });
      // Past a trusted hop (127.0.0.1), the next address is the client.
      expect(await list(course, '192.0.2.2, 127.0.0.1')).toEqual({ status: 200, clientIp: '192.0.2.2' });
    });

    it('never makes a non-address the client: it falls back to the nearest valid address', async () => {
      const garbage = ['not-an-address', '203.0.113.50:8080', '[2001:db8::1]', 'fe80::1%eth0', '127.1', 'unknown', ''];
      const proxyClient = '127.0.0.1';
      // Each alone: the proxy forwarded nothing usable, so the client is the proxy (one bucket for all of them).
      const answers = [];
      for (const value of garbage.slice(0, limit)) answers.push(await list(course, value));
      expect(answers).toEqual([
        { status: 200, clientIp: proxyClient },
        { status: 200, clientIp: proxyClient },
        { status: 429, clientIp: proxyClient }, // 127.0.0.1 spent one request in the first test
      ]);
      for (const value of garbage.slice(limit)) expect(await list(course, value), value).toEqual({ status: 429, clientIp: proxyClient });
      // Left of an address: that address is the nearest valid one, and nothing beyond the garbage is believed.
      expect(await list(course, '192.0.2.77, bogus, 198.51.100.20')).toEqual({ status: 200, clientIp: '198.51.100.20' });
      // Right of an address: the proxy is the nearest valid one.
      expect(await list(course, '198.51.100.21, bogus')).toEqual({ status: 429, clientIp: proxyClient });
      expect(rateLimitWarnings(course)).toEqual([]);
    });
  });
});

describe('TRUSTED_PROXIES at start', () => {
  it('stops the service with an error naming the entry that is not a CIDR', async () => {
    const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=source', 'services/course/src/main.ts'], {
      cwd: repoRoot,
      env: { ...process.env, PORT: '1', TRUSTED_PROXIES: '10.244.0.0/16, 10.96.0.0/33,bogus' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).not.toBe(0);
    expect(stderr).toContain('TRUSTED_PROXIES: "10.96.0.0/33" has prefix length "33", not 0-32');
    expect(stderr).toContain('TRUSTED_PROXIES: "bogus" is not a CIDR');
    expect(stderr).not.toContain('"10.244.0.0/16"');
  }, 30_000);
});
