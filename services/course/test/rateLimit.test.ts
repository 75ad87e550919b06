import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCourse, type RunningCourse } from './harness.js';

describe('per-client rate limit', () => {
  let course: RunningCourse;
  const limit = 3;
  // The test client stands in for the ingress (TRUSTED_PROXIES is loopback): the client is the address it forwards.
  const from = (ip: string) => ({ headers: { 'x-forwarded-for': ip } });

  beforeAll(async () => {
    course = await startCourse('pglite', { rateLimitPerMinute: limit, trustedProxies: ['127.0.0.1/32', '::1/128'] });
  });
  afterAll(() => course.stop());

  it('answers 429 rate_limited with RateLimit and Retry-After headers past the limit', async () => {
    for (let i = 0; i < limit; i++) {
      const res = await course.call('/api/courses', from('203.0.113.7'));
      expect(res.status).toBe(200);
      expect(res.headers.get('ratelimit')).toMatch(/r=\d+/);
    }
    const limited = await course.call('/api/courses', from('203.0.113.7'));
    expect(limited.status).toBe(429);
    expect(limited.headers.get('content-type')).toMatch(/^application\/json/);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.headers.get('ratelimit')).toMatch(/r=0/);
    const { error } = await limited.json();
    expect(error).toMatchObject({ code: 'rate_limited', requestId: limited.headers.get('x-request-id') });
  });

  it('keeps one bucket per client behind the proxy', async () => {
    expect((await course.call('/api/courses', from('198.51.100.9'))).status).toBe(200);
  });

  // The service answers these before its limiter, so this holds for the service as a whole; the limiter's own
  // exemption, which a probe path behind it needs, is tested in kit's rateLimitKey.test.ts.
  it('never limits health, readiness and metrics, even for a client over its limit', async () => {
    expect((await course.call('/api/courses', from('203.0.113.7'))).status).toBe(429);
    for (const path of ['/healthz', '/readyz', '/metrics']) {
      for (let i = 0; i <= limit; i++) expect((await course.call(path, from('203.0.113.7'))).status, path).toBe(200);
    }
  });
});
