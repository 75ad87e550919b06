import { requestTimeouts } from '@courseops/kit';
import { sendRawBytes, serveOnLoopback, testFetch, type RunningApp } from '@courseops/kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drivers, json, startCourse, type RunningCourse } from './harness.js';

/** Traefik v3's entry point respondingTimeouts.readTimeout default (we set none): see services/kit/src/server.ts. */
const ingressReadTimeoutMs = 60_000;
/** Traefik v3's serversTransport forwardingTimeouts.idleConnTimeout default. */
const ingressUpstreamIdleMs = 90_000;

const expectJsonError = (res: { status: number; headers: Record<string, string>; text: string }, status: number, code: string) => {
  expect(res.status, res.text).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  const { error } = JSON.parse(res.text);
  expect(error.code).toBe(code);
  expect(error.requestId).toBe(res.headers['x-request-id']);
  return error as { code: string; message: string; requestId: string; details?: { path: string }[] };
};

describe.each(drivers)('HTTP edges of the course service on %s', (driver) => {
  let course: RunningCourse;
  const call = (path: string, init: RequestInit = {}) => testFetch(`${course.url}${path}`, init);
  const storedTitles = async () => ((await (await call('/api/courses?limit=100')).json()).items as { title: string }[]).map((c) => c.title);

  beforeAll(async () => {
    course = await startCourse(driver);
  });
  afterAll(() => course.stop());

  describe('Host header', () => {
    it('answers an HTTP/1.1 request without Host with the JSON error and a request id', async () => {
      const res = await sendRawBytes(course.url, 'GET /api/courses HTTP/1.1\r\nX-Request-Id: no-host-1\r\nConnection: close\r\n\r\n');
      const error = expectJsonError(res, 400, 'validation_failed');
      expect(error.requestId).toBe('no-host-1');
    });

    it('refuses a request with two Host headers, and serves HTTP/1.0 without one', async () => {
      const twice = await sendRawBytes(course.url, 'GET /api/courses HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n');
      expectJsonError(twice, 400, 'validation_failed');
      const http10 = await sendRawBytes(course.url, 'GET /api/courses?limit=1 HTTP/1.0\r\n\r\n');
      expect(http10.status).toBe(200);
      expect(JSON.parse(http10.text)).toHaveProperty('items');
    });
  });

  describe('slow clients', () => {
    let short: RunningApp;
    beforeAll(async () => {
      short = await serveOnLoopback(course.service.app, 0, { headersMs: 300, requestMs: 600, checkIntervalMs: 50 });
    });
    afterAll(() => short.close());

    it('runs with request timeouts well under the ingress read timeout, and keep-alive above its reuse', () => {
      expect(course.server.requestTimeout).toBe(requestTimeouts.requestMs);
      expect(course.server.headersTimeout).toBe(requestTimeouts.headersMs);
      expect(requestTimeouts.headersMs).toBeLessThanOrEqual(requestTimeouts.requestMs);
      // The latest a timeout fires is one checking interval after it expires.
      expect(requestTimeouts.requestMs + requestTimeouts.checkIntervalMs).toBeLessThanOrEqual(ingressReadTimeoutMs / 2);
      expect(course.server.keepAliveTimeout).toBeGreaterThan(ingressUpstreamIdleMs);
    });

    it('answers a body that stops coming with the JSON error, and stores nothing', async () => {
      const title = `stalled-${driver}`;
      const started = Date.now();
      const res = await sendRawBytes(
        short.url,
        `POST /api/courses HTTP/1.1\r\nHost: x\r\nX-Request-Id: slow-body\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"title":"${title}"`,
      );
      const error = expectJsonError(res, 400, 'validation_failed');
      expect(error.requestId).toBe('slow-body');
      expect(error.message).toMatch(/in time/);
      expect(Date.now() - started).toBeLessThan(3000);
      expect(await storedTitles()).not.toContain(title);
    });

    it('answers a head that stops coming with the JSON error', async () => {
      // Node hands over no bytes of an incomplete head, so the answer carries a new request id.
      const res = await sendRawBytes(short.url, 'GET /api/courses HTTP/1.1\r\nHost: x\r\n');
      expect(expectJsonError(res, 400, 'validation_failed').message).toMatch(/in time/);
    });
  });

  describe('UTF-8 only', () => {
    const post = (body: Buffer | string, contentType: string) =>
      call('/api/courses', { method: 'POST', headers: { 'content-type': contentType }, body });

    it.each([
      ['a byte that is never UTF-8', Buffer.concat([Buffer.from('{"title":"Alg'), Buffer.from([0xff]), Buffer.from('ebra-1"}')])],
      ['a truncated sequence', Buffer.concat([Buffer.from('{"title":"Alg'), Buffer.from([0xc3]), Buffer.from('ebra-2"}')])],
      ['an overlong encoding', Buffer.concat([Buffer.from('{"title":"Alg'), Buffer.from([0xc0, 0xaf]), Buffer.from('ebra-3"}')])],
      ['an encoded surrogate', Buffer.concat([Buffer.from('{"title":"Alg'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('ebra-4"}')])],
    ])('refuses %s as invalid_json and stores nothing', async (_name, body) => {
      const before = await storedTitles();
      const res = await post(body, 'application/json');
      expect(res.status).toBe(400);
      expect((await res.json()).error.code).toBe('invalid_json');
      expect(await storedTitles()).toEqual(before);
    });

    it.each([
      ['utf-7', 'application/json; charset=utf-7', Buffer.from('{"title":"+AEEAbABn-ebra"}')],
      ['latin1', 'application/json; charset=latin1', Buffer.from('{"title":"Alg\xe9bra"}', 'latin1')],
      ['utf-16', 'application/json; charset=utf-16', Buffer.from('\ufeff{"title":"Algebra-16"}', 'utf16le')],
      ['utf-16le', 'application/json; charset=UTF-16LE', Buffer.from('{"title":"Algebra-16le"}', 'utf16le')],
      ['utf-32', 'application/json; charset=utf-32', Buffer.from('{"title":"Algebra-32"}')],
    ])('refuses a body declared as %s with 415 and stores nothing', async (_name, contentType, body) => {
      const before = await storedTitles();
      const res = await post(body, contentType);
      expect(res.status).toBe(415);
      expect((await res.json()).error.code).toBe('unsupported_media_type');
      expect(await storedTitles()).toEqual(before);
    });

    it('takes UTF-8 declared in any case, or not declared', async () => {
      for (const contentType of ['application/json; charset=UTF-8', 'application/json;charset="utf-8"', 'application/json']) {
        const title = `Ålgebra ${contentType}`;
        const res = await post(JSON.stringify({ title }), contentType);
        expect(res.status, contentType).toBe(201);
        expect((await res.json()).title).toBe(title);
      }
    });
  });

  describe('U+FEFF', () => {
    it('refuses a text field that starts with U+FEFF, which PGlite cannot give back', async () => {
      for (const body of [{ title: '\uFEFFAlgebra' }, { title: 'Algebra', description: '\uFEFFabout' }]) {
        const res = await call('/api/courses', { method: 'POST', ...json(body) });
        expect(res.status).toBe(400);
        const { error } = await res.json();
        expect(error.code).toBe('validation_failed');
        expect(error.details.map((d: { path: string }) => d.path)).toEqual([`body.${Object.keys(body).at(-1)}`]);
      }
      expect(await storedTitles()).not.toContain('\uFEFFAlgebra');
    });

    it('gives back U+FEFF elsewhere in a text exactly as stored', async () => {
      const body = { title: `Alge\uFEFFbra ${driver}\uFEFF`, description: 'a\uFEFF\uFEFFb' };
      const created = await call('/api/courses', { method: 'POST', ...json(body) });
      expect(created.status).toBe(201);
      const { id } = await created.json();
      const fetched = await (await call(`/api/courses/${id}`)).json();
      expect(fetched).toMatchObject(body);
      expect(await storedTitles()).toContain(body.title);
    });
  });

  describe('answers in JSON whatever the method or target', () => {
    const id = '00000000-0000-4000-8000-000000000000';

    it.each(['/api/courses', `/api/courses/${id}`, '/healthz', '/nope'])('answers OPTIONS %s with the JSON 404', async (path) => {
      const res = await sendRawBytes(course.url, `OPTIONS ${path} HTTP/1.1\r\nHost: x\r\nX-Request-Id: opt-1\r\nConnection: close\r\n\r\n`);
      expect(expectJsonError(res, 404, 'not_found').requestId).toBe('opt-1');
    });

    it.each([
      ['OPTIONS *', 'OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 404, 'not_found'],
      ['TRACE', 'TRACE /api/courses HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 404, 'not_found'],
      ['PATCH', `PATCH /api/courses/${id} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, 404, 'not_found'],
      ['an unknown method', 'FOO /api/courses HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 400, 'validation_failed'],
      ['a target that is no path', 'GET api/courses HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 400, 'validation_failed'],
      ['an HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 400, 'validation_failed'],
    ])('answers %s with the JSON error', async (_name, request, status, code) => {
      expectJsonError(await sendRawBytes(course.url, request), status, code);
    });

    it('serves an absolute-form target like its path', async () => {
      const res = await sendRawBytes(course.url, `GET ${course.url}/api/courses?limit=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      expect(res.status).toBe(200);
      expect(JSON.parse(res.text)).toHaveProperty('items');
    });

    it('answers HEAD with the JSON headers and no body', async () => {
      const res = await sendRawBytes(course.url, 'HEAD /api/courses HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.text).toBe('');
    });

    it('serves a request with an expectation it does not know instead of a bare 417', async () => {
      const body = JSON.stringify({ title: `expect-${driver}` });
      const res = await sendRawBytes(
        course.url,
        `POST /api/courses HTTP/1.1\r\nHost: x\r\nExpect: something\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
      );
      expect(res.status, res.text).toBe(201);
      expect(JSON.parse(res.text).title).toBe(`expect-${driver}`);
    });
  });
});
