import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger, createMetrics, memoryLogStream, requestContext } from '@courseops/kit';
import { afterEach, describe, expect, it } from 'vitest';
import { CourseClient, reasonOf, type BreakerSettings } from '../src/courseClient.js';
import { eventually, metricValue } from './harness.js';

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
  /** How many requests the caller gave up on (closed the connection) before they got an answer. */
  abandoned: () => number;
  close: () => Promise<void>;
}

const servers: TestServer[] = [];
const clients: CourseClient[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/**
 * A loopback server answering each request with `answer(n)` (n counts from 0): a body as JSON, a string
 * as it is; `undefined` never answers.
 */
async function serve(answer: (n: number, req: IncomingMessage) => [number, unknown, Record<string, string>?] | undefined): Promise<TestServer> {
  const requests: IncomingMessage[] = [];
  let abandoned = 0;
  const server = http.createServer((req: IncomingMessage, res: ServerResponse) => {
    res.on('close', () => {
      if (!res.writableFinished) abandoned++;
    });
    const reply = answer(requests.push(req) - 1, req);
    if (!reply) return;
    res.writeHead(reply[0], { 'content-type': 'application/json', ...reply[2] }).end(typeof reply[1] === 'string' ? reply[1] : JSON.stringify(reply[1]));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const running = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    abandoned: () => abandoned,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
  servers.push(running);
  return running;
}

function client(url: string, options: { timeoutMs?: number; retryDelaysMs?: number[]; breaker?: Partial<BreakerSettings> } = {}) {
  const metrics = createMetrics();
  const logs = memoryLogStream();
  const logger = createLogger({ service: 'teacher', version: 'test', level: 'info', stream: logs });
  const created = new CourseClient({
    baseUrl: url,
    timeoutMs: options.timeoutMs ?? 1000,
    metrics,
    logger,
    retryDelaysMs: options.retryDelaysMs ?? [10, 20],
    ...(options.breaker ? { breaker: options.breaker } : {}),
  });
  clients.push(created);
  const metric = async (name: string, labels: Record<string, string>) => metricValue(await metrics.registry.metrics(), name, labels);
  return { courses: created, metric, logs };
}

/** Runs `run` and measures how long it took, in ms. */
async function timed<T>(run: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const result = await run();
  return [result, performance.now() - start];
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
    // A breaker that stays closed, so only the retry decision can keep a second request from going out.
    const patient = client(server.url);
    expect(await patient.courses.getCourse(course.id)).toEqual({ status: 'unavailable', reason: 'course service answered HTTP 503' });
    expect(server.requests).toHaveLength(1);
    const { courses, metric } = client(server.url, { breaker: { volumeThreshold: 1, errorThresholdPercentage: 1 } });
    expect(await courses.getCourse(course.id)).toMatchObject({ status: 'unavailable' });
    expect(server.requests).toHaveLength(2);
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

  it.each([
    ['no Retry-After', undefined, 1],
    ['Retry-After: 0', '0', 1],
    ['an HTTP-date', 'Wed, 21 Oct 2015 07:28:00 GMT', 1],
    ['seconds with a unit', '12s', 1],
    ['seconds after text', 'in 12', 1],
    ['more than nine digits', '1234567890', 1],
    ['nine digits', '123456789', 123456789],
    ['white space around the seconds', '  12 ', 12],
  ] as const)('reads the wait of a 429 with %s', async (_name, header, seconds) => {
    const server = await serve(() => [429, { error: { code: 'rate_limited' } }, header === undefined ? {} : ({ 'retry-after': header } as Record<string, string>)]);
    const { courses } = client(server.url);
    expect(await courses.getCourse(course.id)).toEqual({ status: 'rate_limited', retryAfterSeconds: seconds });
  });

  it('retries a 500 and a 502, even with Retry-After (only a 503 with it sheds load)', async () => {
    for (const [status, headers] of [[500, {}], [502, { 'retry-after': '1' }]] as [number, Record<string, string>][]) {
      const server = await serve(() => [status, {}, headers]);
      const { courses } = client(server.url);
      expect(await courses.getCourse(course.id)).toEqual({ status: 'unavailable', reason: `course service answered HTTP ${status}` });
      expect(server.requests).toHaveLength(3);
    }
  });

  it('takes an answer that is not JSON as no course, without a retry', async () => {
    const server = await serve(() => [200, '<html>proxy error</html>']);
    const { courses, metric } = client(server.url);
    expect(await courses.getCourse(course.id)).toEqual({ status: 'unavailable', reason: 'course service answered with something that is not a course' });
    expect(await courses.getCourses([course.id])).toEqual({ status: 'unavailable', reason: 'course service answered with something that is not a list of courses' });
    expect(server.requests).toHaveLength(2);
    expect(await metric('http_client_requests_total', { target: 'course', status_code: '200' })).toBe(2);
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
    // undici's "fetch failed", then the errno its cause carries.
    expect(await courses.getCourse(course.id)).toEqual({ status: 'unavailable', reason: 'no answer from the course service: fetch failed: ECONNREFUSED' });
    expect(await metric('http_client_requests_total', { target: 'course', status_code: 'error' })).toBe(3);
  });

  it('takes a 204 (an answer with no body at all) as no course, without a retry', async () => {
    const server = await serve(() => [204, '']);
    const { courses } = client(server.url);
    expect(await courses.getCourse(course.id)).toEqual({ status: 'unavailable', reason: 'course service answered HTTP 204' });
    expect(server.requests).toHaveLength(1);
  });

  it('answers a batched lookup the course service has no route for (404) as unavailable, not as no courses', async () => {
    const server = await serve(() => [404, { error: { code: 'not_found' } }]);
    const { courses } = client(server.url);
    expect(await courses.getCourses([course.id])).toEqual({ status: 'unavailable', reason: 'course service answered HTTP 404 to a batched lookup' });
  });

  it('calls the course service no more once closed', async () => {
    const server = await serve(() => [200, course]);
    const { courses } = client(server.url);
    courses.close();
    expect(await courses.getCourse(course.id)).toEqual({ status: 'unavailable', reason: 'ESHUTDOWN' });
    expect(server.requests).toHaveLength(0);
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

    // An attempt alone may wait a second here: only the lookup's deadline (300 ms) can end it in time.
    const silent = await serve(() => undefined);
    const slow = client(silent.url, { timeoutMs: 300, breaker: { timeoutMs: 1000 } });
    const [lookup, elapsed] = await timed(() => slow.courses.getCourses([course.id, other.id]));
    expect(lookup).toMatchObject({ status: 'unavailable' });
    expect(elapsed).toBeGreaterThanOrEqual(280);
    expect(elapsed).toBeLessThan(600);
    // The deadline left no room for a retry, and it aborted the request: the course service is not left holding it.
    expect(silent.requests).toHaveLength(1);
    await eventually(async () => expect(silent.abandoned()).toBe(1), 300, 10);
  });

  it('retries an attempt that timed out, aborting it, within the deadline', async () => {
    const server = await serve((n) => (n === 0 ? undefined : [200, course]));
    const { courses, metric } = client(server.url, { timeoutMs: 1500, breaker: { timeoutMs: 150 } });
    const [lookup, elapsed] = await timed(() => courses.getCourse(course.id));
    expect(lookup).toEqual({ status: 'found', course });
    expect(server.requests).toHaveLength(2);
    expect(elapsed).toBeGreaterThanOrEqual(140);
    expect(elapsed).toBeLessThan(1000);
    // The timed-out attempt was counted as failed (a busy machine may count it a little after the answer).
    await eventually(async () => expect(await metric('http_client_requests_total', { target: 'course', status_code: 'error' })).toBe(1));
    expect(await metric('http_client_requests_total', { target: 'course', status_code: '200' })).toBe(1);
  });

  it('starts no attempt once the deadline has passed, however many retries are left', async () => {
    const silent = await serve(() => undefined);
    // Each attempt times out after 150 ms; the deadline (400 ms) cuts the third one short.
    const { courses, metric } = client(silent.url, { timeoutMs: 400, retryDelaysMs: [10, 10, 10, 10, 10, 10], breaker: { timeoutMs: 150 } });
    const [lookup, elapsed] = await timed(() => courses.getCourse(course.id));
    const attempts = (await metric('http_client_requests_total', { target: 'course', status_code: 'error' })) ?? 0;
    expect(lookup).toMatchObject({ status: 'unavailable' });
    expect(elapsed).toBeGreaterThanOrEqual(380);
    expect(elapsed).toBeLessThan(600);
    // Three fit in 400 ms (two if the machine is slow); the rest of the retries must not be spent on an expired deadline.
    expect(attempts).toBeLessThanOrEqual(3);
    await eventually(async () => expect(await metric('http_client_requests_total', { target: 'course', status_code: 'error' })).toBeGreaterThanOrEqual(2), 300, 10);
    // Every attempt that reached the course service was aborted there.
    await eventually(async () => expect(silent.abandoned()).toBe(silent.requests.length), 300, 10);
  });

  it('does not start a retry whose pause the deadline leaves no room for', async () => {
    const server = await serve(() => [503, { error: 'busy' }]);
    const { courses } = client(server.url, { timeoutMs: 400, retryDelaysMs: [1000] });
    const [lookup, elapsed] = await timed(() => courses.getCourse(course.id));
    expect(lookup).toEqual({ status: 'unavailable', reason: 'course service answered HTTP 503' });
    expect(elapsed).toBeLessThan(300);
    expect(server.requests).toHaveLength(1);
    // With room for the pause, it does retry.
    const roomy = client(server.url, { timeoutMs: 400, retryDelaysMs: [30] });
    expect(await roomy.courses.getCourse(course.id)).toMatchObject({ status: 'unavailable' });
    expect(server.requests).toHaveLength(3);
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
    const { courses, metric, logs } = client(server.url, { breaker: { volumeThreshold: 2, errorThresholdPercentage: 50, resetTimeoutMs: 200 } });
    const breakerLogs = () => logs.lines.filter((l) => String(l['event.action']).startsWith('circuit_')).map((l) => [l['log.level'], l['event.action'], l.message]);
    expect(await metric('circuit_breaker_state', { target: 'course' })).toBe(0);
    await courses.getCourse(course.id);
    expect(await metric('circuit_breaker_state', { target: 'course' })).toBe(2);
    expect(breakerLogs()).toEqual([['warn', 'circuit_open', 'circuit breaker to the course service opened']]);
    expect(logs.lines.find((l) => l['event.action'] === 'circuit_open')).toMatchObject({ 'service.target.name': 'course' });
    const sent = server.requests.length;
    expect(await courses.getCourse(course.id)).toMatchObject({ status: 'unavailable', reason: 'EOPENBREAKER' });
    expect(server.requests).toHaveLength(sent);

    healthy = true;
    await new Promise((r) => setTimeout(r, 250));
    expect(await metric('circuit_breaker_state', { target: 'course' })).toBe(1);
    expect(await courses.getCourse(course.id)).toEqual({ status: 'found', course });
    expect(await metric('circuit_breaker_state', { target: 'course' })).toBe(0);
    expect(breakerLogs().slice(1)).toEqual([
      ['info', 'circuit_half_open', 'circuit breaker to the course service half-open, trying again'],
      ['info', 'circuit_close', 'circuit breaker to the course service closed'],
    ]);
  });

  it('probes the course service readiness outside the breaker', async () => {
    const server = await serve((_n, req) => (req.url === '/readyz' ? [503, { status: 'not_ready' }] : [200, course]));
    const { courses } = client(server.url);
    await expect(courses.probe()).rejects.toThrow('HTTP 503');
    await server.close();
    const unreachable = await courses.probe().then(() => undefined, (err: Error) => err);
    expect(unreachable?.message).toBe('course service unreachable: fetch failed: ECONNREFUSED');
    // The fetch error itself stays at hand for the readiness log.
    expect(unreachable?.cause).toBeInstanceOf(TypeError);
  });

  it('fails the readiness probe on any answer but a 200, one without a body included', async () => {
    const server = await serve((_n, req) => (req.url === '/readyz' ? [204, ''] : [200, course]));
    const { courses } = client(server.url);
    await expect(courses.probe()).rejects.toThrow('course service not ready: HTTP 204');
  });

  it('passes the readiness probe on a 200 from /readyz', async () => {
    const server = await serve((_n, req) => (req.url === '/readyz' ? [200, { status: 'ready' }] : [500, {}]));
    const { courses, metric } = client(`${server.url}//`);
    await expect(courses.probe()).resolves.toBeUndefined();
    expect(server.requests.map((r) => r.url)).toEqual(['/readyz']);
    // Probes are not traffic.
    expect(await metric('http_client_requests_total', { target: 'course', status_code: '200' })).toBeUndefined();
  });

  it('gives up a readiness probe that gets no answer within the client timeout', async () => {
    const silent = await serve(() => undefined);
    const { courses } = client(silent.url, { timeoutMs: 200 });
    const [outcome, elapsed] = await timed(() => courses.probe().then(() => 'ready', (err: Error) => err.message));
    expect(outcome).toMatch(/^course service unreachable: .*timeout/);
    expect(elapsed).toBeGreaterThanOrEqual(190);
    expect(elapsed).toBeLessThan(700);
    await eventually(async () => expect(silent.abandoned()).toBe(1), 300, 10);
  });
});

describe('the reason a lookup failed', () => {
  const withCause = (message: string, cause?: unknown, code?: string) => Object.assign(new Error(message, { cause }), code ? { code } : {});

  it('names each level of the cause chain by its code, else its message, joined outermost first', () => {
    expect(reasonOf(withCause('fetch failed', withCause('connect ECONNREFUSED 127.0.0.1:1', undefined, 'ECONNREFUSED')))).toBe('fetch failed: ECONNREFUSED');
  });

  it('names a reason once however often the chain repeats it', () => {
    expect(reasonOf(withCause('fetch failed', withCause('reset', withCause('reset again', undefined, 'ECONNRESET'), 'ECONNRESET')))).toBe('fetch failed: ECONNRESET');
  });

  it('reads at most four levels of causes', () => {
    const chain = ['one', 'two', 'three', 'four', 'five'].reduceRight<unknown>((cause, message) => withCause(message, cause), undefined);
    expect(reasonOf(chain)).toBe('one: two: three: four');
  });

  it('skips a level with neither code nor message, and says what was thrown when no level has one', () => {
    expect(reasonOf(withCause('', withCause('inner')))).toBe('inner');
    expect(reasonOf({ code: 42, message: 7 })).toBe('[object Object]');
    expect(reasonOf('a plain string')).toBe('a plain string');
    expect(reasonOf(undefined)).toBe('undefined');
  });
});
