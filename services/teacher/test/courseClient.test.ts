import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger, createMetrics, memoryLogStream, requestContext } from '@courseops/kit';
import { afterEach, describe, expect, it } from 'vitest';
import { CourseClient, type BreakerSettings } from '../src/courseClient.js';
import { metricValue } from './harness.js';

/**
 * The course client against small real HTTP servers that answer what a test needs (errors, delays,
 * silence): retries, deadline, breaker accounting and metrics, without a database.
 */

const course = {
  id: '6f1c2a9e-1111-4222-8333-944455556666',
  title: 'Networks',
  description: '',
  credits: 3,
  createdAt: '2024-01-01T00:00:00.000Z',
  updatedAt: '2024-01-01T00:00:00.000Z',
};

interface TestServer {
  url: string;
  requests: IncomingMessage[];
  close: () => Promise<void>;
}

const servers: TestServer[] = [];
const clients: CourseClient[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** A loopback server answering each request with `answer(n)` (n counts from 0); `undefined` never answers. */
async function serve(answer: (n: number, req: IncomingMessage) => [number, unknown, Record<string, string>?] | undefined): Promise<TestServer> {
  const requests: IncomingMessage[] = [];
  const server = http.createServer((req: IncomingMessage, res: ServerResponse) => {
    const reply = answer(requests.push(req) - 1, req);
    if (!reply) return;
    res.writeHead(reply[0], { 'content-type': 'application/json', ...reply[2] }).end(JSON.stringify(reply[1]));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const running = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
  servers.push(running);
  return running;
}

function client(url: string, options: { timeoutMs?: number; breaker?: Partial<BreakerSettings> } = {}) {
  const metrics = createMetrics();
  const logger = createLogger({ service: 'teacher', version: 'test', level: 'error', stream: memoryLogStream() });
  const created = new CourseClient({ baseUrl: url, timeoutMs: options.timeoutMs ?? 1000, metrics, logger, retryDelaysMs: [10, 20], ...(options.breaker ? { breaker: options.breaker } : {}) });
  clients.push(created);
  const metric = async (name: string, labels: Record<string, string>) => metricValue(await metrics.registry.metrics(), name, labels);
  return { courses: created, metric };
}

describe('course client', () => {
  it('finds a course and counts the request by status code', async () => {
    const server = await serve(() => [200, course]);
    const { courses, metric } = client(server.url);
    expect(await courses.getCourse(course.id)).toEqual({ status: 'found', course });
    expect(server.requests.map((r) => r.url)).toEqual([`/api/courses/${course.id}`]);
    expect(await metric('http_client_requests_total', { target: 'course', status_code: '200' })).toBe(1);
    expect(await metric('http_client_request_duration_seconds_count', { target: 'course' })).toBe(1);
  });

  it('retries a 5xx a bounded number of times, then gives up', async () => {
    const server = await serve(() => [503, { error: 'busy' }]);
    const { courses, metric } = client(server.url);
    expect(await courses.getCourse(course.id)).toMatchObject({ status: 'unavailable', reason: expect.stringContaining('503') });
    expect(server.requests).toHaveLength(3);
    expect(await metric('http_client_requests_total', { target: 'course', status_code: '503' })).toBe(3);
  });

  it('does not retry a course service that sheds load (503 with Retry-After), but counts it for the breaker', async () => {
    const server = await serve(() => [503, { error: { code: 'overloaded' } }, { 'retry-after': '1' }]);
    const { courses, metric } = client(server.url, { breaker: { volumeThreshold: 1, errorThresholdPercentage: 1 } });
    expect(await courses.getCourse(course.id)).toMatchObject({ status: 'unavailable' });
    expect(server.requests).toHaveLength(1);
    expect(await metric('circuit_breaker_state', { target: 'course' })).toBe(2);
  });

  it('passes a 429 on as the user’s own limit: no retry, and never a failure of the breaker', async () => {
    const server = await serve(() => [429, { error: { code: 'rate_limited' } }, { 'retry-after': '17' }]);
    const { courses, metric } = client(server.url, { breaker: { volumeThreshold: 1, errorThresholdPercentage: 1 } });
    for (let i = 0; i < 5; i++) expect(await courses.getCourse(course.id)).toEqual({ status: 'rate_limited', retryAfterSeconds: 17 });
    expect(await courses.getCourses([course.id])).toEqual({ status: 'rate_limited', retryAfterSeconds: 17 });
    expect(server.requests).toHaveLength(6);
    expect(await metric('circuit_breaker_state', { target: 'course' })).toBe(0);
  });

  it('gets the course when a retry succeeds', async () => {
    const server = await serve((n) => (n === 0 ? [502, {}] : [200, course]));
    const { courses } = client(server.url);
    expect(await courses.getCourse(course.id)).toEqual({ status: 'found', course });
    expect(server.requests).toHaveLength(2);
  });

  it('neither retries a 404 nor counts it as a failure of the breaker', async () => {
    const server = await serve(() => [404, { error: { code: 'not_found' } }]);
    const { courses, metric } = client(server.url, { breaker: { volumeThreshold: 1, errorThresholdPercentage: 1 } });
    for (let i = 0; i < 5; i++) expect(await courses.getCourse(course.id)).toEqual({ status: 'missing' });
    expect(server.requests).toHaveLength(5);
    expect(await metric('http_client_requests_total', { target: 'course', status_code: '404' })).toBe(5);
    expect(await metric('circuit_breaker_state', { target: 'course' })).toBe(0);
  });

  it('does not retry answers another try would not change', async () => {
    for (const [status, body] of [[400, { error: 'bad' }], [200, { not: 'a course' }]] as const) {
      const server = await serve(() => [status, body]);
      const { courses } = client(server.url);
      expect((await courses.getCourse(course.id)).status).toBe('unavailable');
      expect(server.requests).toHaveLength(1);
    }
  });

  it('counts a refused connection as status "error"', async () => {
    const server = await serve(() => [200, course]);
    await server.close();
    const { courses, metric } = client(server.url);
    expect(await courses.getCourse(course.id)).toMatchObject({ status: 'unavailable', reason: expect.stringContaining('ECONNREFUSED') });
    expect(await metric('http_client_requests_total', { target: 'course', status_code: 'error' })).toBe(3);
  });

  const other = { ...course, id: '6f1c2a9e-2222-4222-8333-944455556666', title: 'Compilers' };
  const unknownId = '6f1c2a9e-3333-4222-8333-944455556666';

  it('looks a page of courses up in one request, keeping only the courses asked for', async () => {
    const stranger = { ...course, id: '6f1c2a9e-4444-4222-8333-944455556666' };
    const server = await serve(() => [200, { items: [other, stranger, course] }]);
    const { courses, metric } = client(server.url);
    const lookup = await courses.getCourses([course.id, unknownId, other.id]);
    expect(lookup).toEqual({ status: 'answered', courses: new Map([[other.id, other], [course.id, course]]) });
    expect(server.requests.map((r) => r.url)).toEqual([`/api/courses?ids=${course.id},${unknownId},${other.id}`]);
    expect(await metric('http_client_requests_total', { target: 'course', status_code: '200' })).toBe(1);
    // No ids, no call.
    expect(await courses.getCourses([])).toEqual({ status: 'answered', courses: new Map() });
    expect(server.requests).toHaveLength(1);
  });

  it('retries a batched lookup within one deadline, then answers unavailable', async () => {
    const server = await serve((n) => (n < 2 ? [503, {}] : [200, { items: [course] }]));
    const { courses } = client(server.url);
    expect(await courses.getCourses([course.id])).toEqual({ status: 'answered', courses: new Map([[course.id, course]]) });
    expect(server.requests).toHaveLength(3);

    const silent = await serve(() => undefined);
    const slow = client(silent.url, { timeoutMs: 300 });
    const start = performance.now();
    expect(await slow.courses.getCourses([course.id, other.id])).toMatchObject({ status: 'unavailable' });
    const elapsed = performance.now() - start;
    expect(elapsed).toBeGreaterThanOrEqual(280);
    expect(elapsed).toBeLessThan(450);
  });

  it.each([
    ['a 404 (no such route)', 404, { error: { code: 'not_found' } }],
    ['an answer that is not a list of courses', 200, { items: [{ id: course.id }] }],
    ['a 400', 400, { error: { code: 'validation_failed' } }],
  ] as const)('takes %s as no answer, not as "every course is missing"', async (_name, status, body) => {
    const server = await serve(() => [status, body]);
    const { courses } = client(server.url);
    expect(await courses.getCourses([course.id])).toMatchObject({ status: 'unavailable' });
    expect(server.requests).toHaveLength(1);
  });

  it('sends the request id and the end user address of the request being served, on every call', async () => {
    const server = await serve((_n, req) => (req.url?.includes('?ids=') ? [200, { items: [course] }] : [200, course]));
    const { courses } = client(server.url);
    await requestContext.run({ requestId: 'ctx-42', clientAddress: '203.0.113.7' }, async () => {
      await courses.getCourse(course.id);
      await courses.getCourses([course.id]);
    });
    expect(server.requests).toHaveLength(2);
    for (const req of server.requests) {
      expect(req.headers['x-request-id']).toBe('ctx-42');
      expect(req.headers['x-forwarded-for']).toBe('203.0.113.7');
    }
  });

  it('opens after failures, fails fast while open, and closes after a successful trial', async () => {
    let healthy = false;
    const server = await serve(() => (healthy ? [200, course] : [500, {}]));
    const { courses, metric } = client(server.url, { breaker: { volumeThreshold: 2, errorThresholdPercentage: 50, resetTimeoutMs: 200 } });
    await courses.getCourse(course.id);
    expect(await metric('circuit_breaker_state', { target: 'course' })).toBe(2);
    const sent = server.requests.length;
    expect(await courses.getCourse(course.id)).toMatchObject({ status: 'unavailable', reason: 'EOPENBREAKER' });
    expect(server.requests).toHaveLength(sent);

    healthy = true;
    await new Promise((r) => setTimeout(r, 250));
    expect(await metric('circuit_breaker_state', { target: 'course' })).toBe(1);
    expect(await courses.getCourse(course.id)).toEqual({ status: 'found', course });
    expect(await metric('circuit_breaker_state', { target: 'course' })).toBe(0);
  });

  it('probes the course service readiness outside the breaker', async () => {
    const server = await serve((_n, req) => (req.url === '/readyz' ? [503, { status: 'not_ready' }] : [200, course]));
    const { courses } = client(server.url);
    await expect(courses.probe()).rejects.toThrow('HTTP 503');
    await server.close();
    await expect(courses.probe()).rejects.toThrow(/unreachable: .*ECONNREFUSED/);
  });
});
