import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createServiceApp, jsonBody } from '../src/app.js';
import { onBehalfOfHeaders } from '../src/context.js';
import { createLogger, memoryLogStream } from '../src/logger.js';
import { createMetrics } from '../src/metrics.js';
import { Readiness } from '../src/readiness.js';
import { cidrProblem, isClientAddress, trustedProxyEntries } from '../src/http/clientAddress.js';
import { errorStatus, HttpError, type ErrorCode } from '../src/http/errors.js';
import { idParams, parseBody, parseParams, parseQuery, queryInt, text } from '../src/http/validation.js';
import { contractErrorStatus } from '../src/testing/fuzz.js';
import { serveOnLoopback, testFetch, type RunningApp } from '../src/testing/http.js';
import { sendRawBytes, type RawResponse } from '../src/testing/rawHttp.js';

/**
 * The HTTP conventions of API.md that every service gets from the kit (errors, request ids, bodies,
 * validation, Host, OPTIONS, client addresses), on a small app built with createServiceApp and served
 * like a service (`listen`), so each answer is what a client of any service would get.
 */

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

type ErrorAnswer = { code: string; message: string; requestId: string; details?: { path: string; message: string }[] };

/** The JSON error body of API.md with this status and code, its request id the answer's header. */
function expectJsonError(res: RawResponse, status: number, code: string): ErrorAnswer {
  expect(res.status, res.text).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  const { error } = JSON.parse(res.text) as { error: ErrorAnswer };
  expect(error.code).toBe(code);
  expect(error.message).not.toBe('');
  expect(error.requestId).toBe(res.headers['x-request-id']);
  return error;
}

describe('the error codes', () => {
  it('each have the status API.md gives them', () => {
    expect(errorStatus).toEqual(contractErrorStatus);
    for (const code of Object.keys(contractErrorStatus) as ErrorCode[]) {
      expect(new HttpError(code, 'x').status, code).toBe(contractErrorStatus[code]);
    }
  });
});

describe('a service app built by the kit', () => {
  const logs = memoryLogStream();
  let running: RunningApp;
  /** GET (or any request) with fetch; the answer's body text and headers, as sendRawBytes gives them. */
  const call = async (path: string, init: RequestInit = {}): Promise<RawResponse> => {
    const res = await testFetch(`${running.url}${path}`, init);
    const body = Buffer.from(await res.arrayBuffer());
    return { status: res.status, headers: Object.fromEntries(res.headers), body, text: body.toString('utf8') };
  };
  const raw = (request: string | Buffer) => sendRawBytes(running.url, request);
  const postJson = (path: string, body: unknown) =>
    call(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const logsOf = (level: string) => logs.lines.filter((l) => l['log.level'] === level);

  const echoSchema = z.object({
    title: text(1, 10),
    note: text(0, 10).optional(),
    signature: text(1, 10, { allowLeadingBom: true }).optional(),
  });

  beforeAll(async () => {
    const metrics = createMetrics();
    const logger = createLogger({ service: 'kit', version: '0.0.0', level: 'info', metrics, stream: logs });
    const options = {
      logger,
      metrics,
      readiness: new Readiness(),
      rateLimitPerMinute: 100_000,
      // The loopback peer and one network behind it are trusted proxies, so X-Forwarded-For decides req.ip.
      trustedProxies: ['127.0.0.1', '198.51.100.0/24'],
    };
    const app = createServiceApp(options, (app) => {
      app.get('/throw/plain', () => {
        throw new Error('kaput');
      });
      app.get('/throw/string', () => {
        throw 'kaput';
      });
      app.get('/throw/status/:status', (req) => {
        throw Object.assign(new Error('a library error'), { status: Number(req.params.status) });
      });
      app.get('/throw/status-text/:status', (req) => {
        throw Object.assign(new Error('a library error'), { status: req.params.status });
      });
      app.get('/throw/type/:type', (req) => {
        throw Object.assign(new Error('a body-parser error'), { type: req.params.type, status: 400 });
      });
      app.get('/throw/code/:code', (req) => {
        throw new HttpError(req.params.code as ErrorCode, `thrown ${req.params.code}`, undefined, { cause: new Error('the cause') });
      });
      app.get('/throw/no-cause', () => {
        throw new HttpError('dependency_unavailable', 'nothing answers');
      });
      app.get('/throw/no-details', () => {
        throw new HttpError('validation_failed', 'no details', []);
      });
      app.get('/throw/after-headers', (_req, res) => {
        res.status(200).write('partial');
        throw new Error('too late for an error answer');
      });
      app.post('/echo', ...jsonBody, (req, res) => {
        res.json(parseBody(echoSchema, req));
      });
      app.get('/count', (req, res) => {
        res.json(parseQuery(z.object({ n: queryInt(2, 9, 5) }), req));
      });
      app.get('/things/:id', (req, res) => {
        res.json(parseParams(idParams, req));
      });
      app.get('/context', (_req, res) => {
        res.json(onBehalfOfHeaders());
      });
      // Services mount their routes on a Router, which would answer OPTIONS on its paths itself.
      const router = express.Router();
      router.get('/routed', (_req, res) => void res.json({ routed: true }));
      app.use(router);
    });
    running = await serveOnLoopback(app, 0, { headersMs: 300, requestMs: 600, checkIntervalMs: 50 });
  });
  afterAll(() => running.close());

  describe('errors thrown by a route', () => {
    it('answers an unexpected exception 500 internal, logs it as an error, and shows nothing of it', async () => {
      for (const path of ['/throw/plain', '/throw/string']) {
        const before = logsOf('error').length;
        const res = await call(path, { headers: { 'x-request-id': 'boom-1' } });
        const error = expectJsonError(res, 500, 'internal');
        expect(error.requestId).toBe('boom-1');
        expect(res.text).not.toMatch(/kaput/);
        expect(error).not.toHaveProperty('details');
        // The access log reports the 500 too; the error itself is logged once, with the request's id.
        const logged = logsOf('error').slice(before).filter((l) => l.message === 'unhandled error');
        expect(logged).toHaveLength(1);
        expect(logged[0]!['http.request.id']).toBe('boom-1');
        expect(JSON.stringify(logged[0]), 'the error is in the log line').toMatch(/kaput/);
      }
    });

    it.each([500, 503, 302, 399, 200])('answers an exception that carries status %i with 500 internal', async (status) => {
      expectJsonError(await call(`/throw/status/${status}`), 500, 'internal');
    });

    it('answers an exception whose status is not a number with 500 internal', async () => {
      expectJsonError(await call('/throw/status-text/404'), 500, 'internal');
    });

    it.each([400, 404, 499])('answers a framework error with 4xx status %i as 400 validation_failed, logging no error', async (status) => {
      const before = logs.lines.length;
      expect(expectJsonError(await call(`/throw/status/${status}`), 400, 'validation_failed').message).toMatch(/malformed/);
      expect(logs.lines.slice(before).filter((l) => l['log.level'] !== 'info')).toEqual([]);
    });

    it('answers a framework error with status 413 or 415 with its own code', async () => {
      expect(expectJsonError(await call('/throw/status/413'), 413, 'payload_too_large').message).toMatch(/too large/);
      expect(expectJsonError(await call('/throw/status/415'), 415, 'unsupported_media_type').message).toMatch(/application\/json/);
    });

    it.each([
      ['entity.parse.failed', 400, 'invalid_json', /not valid JSON/],
      ['entity.too.large', 413, 'payload_too_large', /16 KiB/],
      ['charset.unsupported', 415, 'unsupported_media_type', /charset/],
      ['encoding.unsupported', 415, 'unsupported_media_type', /encoding/],
    ])('answers a body-parser error of type %s with %i %s', async (type, status, code, message) => {
      expect(expectJsonError(await call(`/throw/type/${type}`), status, code).message).toMatch(message);
    });

    it('answers an HttpError with its own code, status and message', async () => {
      for (const code of ['not_found', 'conflict', 'course_not_found', 'unauthorized'] as const) {
        const error = expectJsonError(await call(`/throw/code/${code}`), contractErrorStatus[code]!, code);
        expect(error.message).toBe(`thrown ${code}`);
      }
      expect(logsOf('error').filter((l) => String(l.message).startsWith('thrown'))).toEqual([]);
    });

    it('answers overloaded 503 with Retry-After: 1 and logs a warning with the cause', async () => {
      const before = logsOf('warn').length;
      const res = await call('/throw/code/overloaded');
      expectJsonError(res, 503, 'overloaded');
      expect(res.headers['retry-after']).toBe('1');
      const warned = logsOf('warn').slice(before);
      expect(warned.map((l) => l.message)).toEqual(['thrown overloaded']);
      expect(JSON.stringify(warned[0])).toMatch(/the cause/);
    });

    it('answers dependency_unavailable 503 without Retry-After and logs a warning, with the error itself when it has no cause', async () => {
      const before = logsOf('warn').length;
      const res = await call('/throw/code/dependency_unavailable');
      expectJsonError(res, 503, 'dependency_unavailable');
      expect(res.headers['retry-after']).toBeUndefined();
      const withoutCause = await call('/throw/no-cause');
      expectJsonError(withoutCause, 503, 'dependency_unavailable');
      const warned = logsOf('warn').slice(before);
      expect(warned.map((l) => l.message)).toEqual(['thrown dependency_unavailable', 'nothing answers']);
      expect(JSON.stringify(warned[0])).toMatch(/the cause/);
      expect(JSON.stringify(warned[1])).toMatch(/nothing answers/);
      expect(logsOf('error').filter((l) => /thrown|nothing answers/.test(String(l.message)))).toEqual([]);
    });

    it('leaves out empty details', async () => {
      const error = expectJsonError(await call('/throw/no-details'), 400, 'validation_failed');
      expect(error).not.toHaveProperty('details');
    });

    it('ends an answer already under way instead of writing a second one', async () => {
      const res = await call('/throw/after-headers');
      expect(res.status).toBe(200);
      expect(res.text).toBe('partial');
    });

    it('answers a path no route claims with the JSON 404', async () => {
      expect(expectJsonError(await call('/nowhere'), 404, 'not_found').message).toMatch(/no such route/);
    });
  });

  describe('request ids', () => {
    it('keeps a well-formed X-Request-Id and makes a UUID for a missing or malformed one', async () => {
      const longest = 'a'.repeat(128);
      expect((await call('/count', { headers: { 'x-request-id': 'Ab9._-' } })).headers['x-request-id']).toBe('Ab9._-');
      expect((await call('/count', { headers: { 'x-request-id': longest } })).headers['x-request-id']).toBe(longest);
      for (const bad of [`${longest}a`, 'has space', 'semi;colon', 'slash/', '\xfcmlaut']) {
        const res = await raw(`GET /count HTTP/1.1\r\nHost: x\r\nX-Request-Id: ${bad}\r\nConnection: close\r\n\r\n`);
        expect(res.status, bad).toBe(200);
        expect(res.headers['x-request-id'], bad).toMatch(uuidPattern);
      }
      expect((await call('/count')).headers['x-request-id']).toMatch(uuidPattern);
    });

    it('runs the request in its context: outbound calls carry its id and its client', async () => {
      const res = await call('/context', { headers: { 'x-request-id': 'ctx-1', 'x-forwarded-for': '203.0.113.9' } });
      expect(JSON.parse(res.text)).toEqual({ 'X-Request-Id': 'ctx-1', 'X-Forwarded-For': '203.0.113.9' });
    });
  });

  describe('client addresses', () => {
    const clientSeen = async (forwardedFor: string) =>
      JSON.parse((await call('/context', { headers: { 'x-forwarded-for': forwardedFor } })).text)['X-Forwarded-For'];

    it('walks X-Forwarded-For through trusted proxies to the client', async () => {
      expect(await clientSeen('203.0.113.9, 198.51.100.4')).toBe('203.0.113.9');
      expect(await clientSeen('  203.0.113.9 ,198.51.100.4  ')).toBe('203.0.113.9');
    });

    it('believes nothing at or left of an entry that is no address', async () => {
      expect(await clientSeen('203.0.113.9, garbage, 198.51.100.4')).toBe('198.51.100.4');
      expect(await clientSeen('203.0.113.9, fe80::1%eth0, 198.51.100.4')).toBe('198.51.100.4');
      expect(await clientSeen('garbage, 203.0.113.9')).toBe('203.0.113.9');
      expect(await clientSeen('garbage, 203.0.113.9, 198.51.100.4')).toBe('203.0.113.9');
      // Nothing believable forwarded: the client is the peer itself.
      expect(await clientSeen('203.0.113.9, garbage')).toBe('127.0.0.1');
      expect(await clientSeen('')).toBe('127.0.0.1');
    });
  });

  describe('JSON bodies', () => {
    it('takes a JSON body, chunked or with a length', async () => {
      expect(JSON.parse((await postJson('/echo', { title: 'Algebra' })).text)).toEqual({ title: 'Algebra' });
      const body = '{"title":"Chunked"}';
      const chunked = await raw(
        `POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`,
      );
      expect(chunked.status, chunked.text).toBe(200);
      expect(JSON.parse(chunked.text)).toEqual({ title: 'Chunked' });
    });

    it('refuses a body that is not declared application/json with 415, chunked or not', async () => {
      const body = '{"title":"Algebra"}';
      for (const request of [
        `POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`,
        `POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`,
        `POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
        `POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nConnection: close\r\n\r\n{`,
      ]) {
        const error = expectJsonError(await raw(request), 415, 'unsupported_media_type');
        expect(error.message).toMatch(/application\/json/);
      }
    });

    it('lets a request with no body through whatever its content type, to be validated', async () => {
      const res = await raw('POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      expect(expectJsonError(res, 400, 'validation_failed').details?.map((d) => d.path)).toEqual(['body']);
    });

    it('refuses malformed JSON as invalid_json and a body over 16 KiB as payload_too_large', async () => {
      const bad = await call('/echo', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"title":' });
      expectJsonError(bad, 400, 'invalid_json');
      expectJsonError(await postJson('/echo', { title: 'x'.repeat(17 * 1024) }), 413, 'payload_too_large');
    });

    it('refuses a declared charset other than UTF-8 with 415 and bytes that are not UTF-8 as invalid_json', async () => {
      const latin1 = await call('/echo', {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=latin1' },
        body: Buffer.from('{"title":"Alg\xe9bra"}', 'latin1'),
      });
      expect(expectJsonError(latin1, 415, 'unsupported_media_type').message).toMatch(/charset/);
      // A charset body-parser could decode, but not the one API.md allows.
      const utf16 = await call('/echo', {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-16le' },
        body: Buffer.from('{"title":"Algebra"}', 'utf16le'),
      });
      expect(expectJsonError(utf16, 415, 'unsupported_media_type').message).toMatch(/UTF-8/);
      const notUtf8 = await call('/echo', {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body: Buffer.concat([Buffer.from('{"title":"Alg'), Buffer.from([0xff]), Buffer.from('ebra"}')]),
      });
      expect(expectJsonError(notUtf8, 400, 'invalid_json').message).toMatch(/UTF-8/);
      const utf8 = await call('/echo', { method: 'POST', headers: { 'content-type': 'application/json; charset=UTF-8' }, body: '{"title":"Älgebra"}' });
      expect(JSON.parse(utf8.text)).toEqual({ title: 'Älgebra' });
    });
  });

  describe('text fields', () => {
    /** The details of a refused /echo body: path and message of each. */
    const refused = async (body: unknown) => {
      const error = expectJsonError(await postJson('/echo', body), 400, 'validation_failed');
      expect(error.message).toBe('invalid body');
      return error.details!.map((d) => `${d.path}: ${d.message}`);
    };

    it('takes text within its bounds, as written', async () => {
      const body = { title: 'x'.repeat(10), note: '', signature: '\uFEFFsigned' };
      expect(JSON.parse((await postJson('/echo', body)).text)).toEqual(body);
      expect(JSON.parse((await postJson('/echo', { title: 'a', note: '   ' })).text)).toEqual({ title: 'a', note: '   ' });
      expect(JSON.parse((await postJson('/echo', { title: 'a\uFEFF\ud83d\ude00' })).text)).toEqual({ title: 'a\uFEFF\ud83d\ude00' });
    });

    it('refuses text out of its bounds', async () => {
      expect(await refused({ title: '' })).toContain('body.title: must be at least 1 characters');
      expect(await refused({ title: 'x'.repeat(11) })).toEqual(['body.title: must be at most 10 characters']);
    });

    it('refuses NUL, blank text where some is required, and a leading U+FEFF unless allowed', async () => {
      expect(await refused({ title: 'a\u0000b' })).toEqual(['body.title: must not contain NUL characters']);
      expect(await refused({ title: ' \t\u3000\u00a0' })).toEqual(['body.title: must not be blank']);
      expect(await refused({ title: '\uFEFFa' })).toEqual(['body.title: must not start with U+FEFF (byte order mark)']);
      expect(await refused({ title: 'a', note: '\uFEFF' })).toEqual(['body.note: must not start with U+FEFF (byte order mark)']);
    });

    it('refuses unpaired surrogates, which PostgreSQL would store altered', async () => {
      for (const bad of ['\ud800', 'a\udc00b', 'ok\ud83d']) {
        expect(await refused({ title: bad }), JSON.stringify(bad)).toEqual(['body.title: must be well-formed Unicode']);
      }
      expect(await refused({ title: 'a', note: '\udfff' })).toEqual(['body.note: must be well-formed Unicode']);
    });

    it('names the body itself when it is not an object', async () => {
      expect(await refused([1])).toEqual([expect.stringMatching(/^body: /)]);
    });
  });

  describe('query integers and ids', () => {
    const count = (query: string) => call(`/count${query}`);
    const refusedQuery = async (query: string) =>
      expectJsonError(await count(query), 400, 'validation_failed').details!.map((d) => `${d.path}: ${d.message}`);

    it('takes plain digits within bounds, and defaults when absent', async () => {
      for (const [query, n] of [['', 5], ['?n=2', 2], ['?n=9', 9], ['?n=007', 7], ['?other=1', 5]] as const) {
        expect(JSON.parse((await count(query)).text), query).toEqual({ n });
      }
    });

    it('refuses anything but one integer in bounds', async () => {
      expect(await refusedQuery('?n=1')).toEqual(['query.n: must be at least 2']);
      expect(await refusedQuery('?n=10')).toEqual(['query.n: must be at most 9']);
      expect(await refusedQuery('?n=1234567890123456')).toEqual(['query.n: must be an integer']);
      for (const bad of ['', 'x5', '5x', '-3', '3.0', '+3', ' 3', 'abc']) {
        expect(await refusedQuery(`?n=${encodeURIComponent(bad)}`), bad).toEqual(['query.n: must be an integer']);
      }
      expect(await refusedQuery('?n=3&n=4')).toEqual(['query.n: must be given once, as an integer']);
    });

    it('refuses an id that is not a UUID', async () => {
      const id = '6f1c2a9e-1111-4222-8333-944455556666';
      expect(JSON.parse((await call(`/things/${id}`)).text)).toEqual({ id });
      const error = expectJsonError(await call('/things/not-a-uuid'), 400, 'validation_failed');
      expect(error.message).toBe('invalid params');
      expect(error.details).toEqual([{ path: 'params.id', message: 'must be a UUID' }]);
    });
  });

  describe('Host header and OPTIONS', () => {
    it('refuses an HTTP/1.1 request without Host and any request with two', async () => {
      const none = await raw('GET /count HTTP/1.1\r\nX-Request-Id: no-host\r\nConnection: close\r\n\r\n');
      expect(expectJsonError(none, 400, 'validation_failed').message).toMatch(/needs a Host header/);
      expect(JSON.parse(none.text).error.requestId).toBe('no-host');
      for (const version of ['1.1', '1.0']) {
        const twice = await raw(`GET /count HTTP/${version}\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n`);
        expect(expectJsonError(twice, 400, 'validation_failed').message).toMatch(/at most one Host header/);
      }
    });

    it('serves HTTP/1.0 without Host, and HTTP/1.1 with one', async () => {
      expect((await raw('GET /count HTTP/1.0\r\n\r\n')).status).toBe(200);
      expect((await raw('GET /count HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')).status).toBe(200);
    });

    it('answers OPTIONS with the JSON 404, on a route and off', async () => {
      expect((await call('/routed')).status).toBe(200);
      for (const path of ['/count', '/routed', '/nowhere']) {
        const res = await raw(`OPTIONS ${path} HTTP/1.1\r\nHost: x\r\nX-Request-Id: opt-1\r\nConnection: close\r\n\r\n`);
        expect(expectJsonError(res, 404, 'not_found').requestId).toBe('opt-1');
      }
    });
  });

  describe('requests Node refuses before express sees them', () => {
    const badHeader = 'X-Bad: a\x01b\r\n';

    it('answers a malformed head with the JSON 400, keeping the request id it can read', async () => {
      const res = await raw(`GET /count HTTP/1.1\r\nHost: x\r\nX-Request-Id: raw-1\r\n${badHeader}\r\n`);
      expect(expectJsonError(res, 400, 'validation_failed').message).toBe('malformed HTTP request');
      expect(res.headers['x-request-id']).toBe('raw-1');
      expect(res.headers.connection).toBe('close');
      expect(Number(res.headers['content-length'])).toBe(res.body.length);
    });

    it('reads the request id case-insensitively, around optional white space, on any header line', async () => {
      for (const [line, id] of [
        ['x-REQUEST-id:raw-2', 'raw-2'],
        ['X-Request-Id: \t raw-3 \t', 'raw-3'],
      ]) {
        const first = await raw(`GET /count HTTP/1.1\r\nHost: x\r\n${line}\r\n${badHeader}\r\n`);
        expect(first.headers['x-request-id'], line).toBe(id);
        const last = await raw(`GET /count HTTP/1.1\r\nHost: x\r\n${badHeader}${line}\r\n\r\n`);
        expect(last.headers['x-request-id'], `${line}, last`).toBe(id);
      }
    });

    it('makes a new request id when the head holds none it can keep', async () => {
      for (const head of [
        `GET /count HTTP/1.1\r\nHost: x\r\n${badHeader}\r\n`,
        `GET /count HTTP/1.1\r\nHost: x\r\nX-Request-Id: one\r\nX-Request-Id: two\r\n${badHeader}\r\n`,
        `GET /count HTTP/1.1\r\nHost: x\r\nX-Request-Id: not valid!\r\n${badHeader}\r\n`,
        `GET /count HTTP/1.1\r\nHost: x\r\nX-Not-Request-Id: nope\r\n${badHeader}\r\n`,
        // An id in what follows the head is no header of this request.
        `GET /count HTTP/1.1\r\nHost: x\r\n${badHeader}\r\nbody\r\nX-Request-Id: in-body\r\n\r\n`,
      ]) {
        const res = await raw(head);
        expectJsonError(res, 400, 'validation_failed');
        expect(res.headers['x-request-id'], JSON.stringify(head)).toMatch(uuidPattern);
      }
    });

    it('answers headers over 16 KiB with the JSON 413', async () => {
      const res = await raw(`GET /count HTTP/1.1\r\nHost: x\r\nX-Request-Id: big-1\r\nX-Big: ${'a'.repeat(17 * 1024)}\r\n\r\n`);
      const error = expectJsonError(res, 413, 'payload_too_large');
      expect(error.message).toMatch(/headers are larger than 16 KiB/);
      // The id is kept when it was in the chunk the parser failed on, which depends on how TCP split it.
      expect(error.requestId === 'big-1' || uuidPattern.test(error.requestId), error.requestId).toBe(true);
    });

    it('answers a body that stops coming with the JSON 400, keeping the request id of its head', async () => {
      const res = await raw('POST /echo HTTP/1.1\r\nHost: x\r\nX-Request-Id: slow-1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"title":');
      const error = expectJsonError(res, 400, 'validation_failed');
      expect(error.message).toBe('request not received in time');
      expect(error.requestId).toBe('slow-1');
    });

    it('answers once, however many bad bytes follow', async () => {
      const res = await raw(`GET /count HTTP/1.1\r\nHost: x\r\n${badHeader}\r\n${'GET / HTTP/1.1\r\n\x01\r\n\r\n'.repeat(200)}`);
      expectJsonError(res, 400, 'validation_failed');
      expect(res.body.length).toBe(Number(res.headers['content-length']));
    });

    it('answers CONNECT with the JSON 404, keeping the request id', async () => {
      const res = await raw('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\nX-Request-Id: conn-1\r\n\r\n');
      expect(expectJsonError(res, 404, 'not_found').requestId).toBe('conn-1');
      const noId = await raw('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
      expect(expectJsonError(noId, 404, 'not_found').requestId).toMatch(uuidPattern);
    });
  });
});

describe('TRUSTED_PROXIES entries', () => {
  it('splits the list on commas, trimming, without blanks', () => {
    expect(trustedProxyEntries(undefined)).toEqual([]);
    expect(trustedProxyEntries('')).toEqual([]);
    expect(trustedProxyEntries(' 10.0.0.0/8 , ,::1/128,')).toEqual(['10.0.0.0/8', '::1/128']);
  });

  it('takes addresses and CIDRs with a prefix in range', () => {
    for (const entry of ['10.244.0.0/16', '10.0.0.1', '0.0.0.0/0', '10.0.0.0/32', '::1/128', '2001:db8::/32', '::/0', 'fe80::1']) {
      expect(cidrProblem(entry), entry).toBeUndefined();
    }
  });

  it('names what is wrong with anything else', () => {
    expect(cidrProblem('10.0.0.0/33')).toBe('"10.0.0.0/33" has prefix length "33", not 0-32');
    expect(cidrProblem('::1/129')).toBe('"::1/129" has prefix length "129", not 0-128');
    for (const entry of ['10.0.0.0/', '10.0.0.0/x', '10.0.0.0/-1', '10.0.0.0/1x', '10.0.0.0/0008', '::/ 8']) {
      expect(cidrProblem(entry), entry).toMatch(/has prefix length/);
    }
    for (const entry of ['', 'loopback', '10.0.0', '10.0.0.0/8/8', 'fe80::1%eth0/64', '/8']) {
      expect(cidrProblem(entry), entry).toBe(`"${entry}" is not a CIDR (an IP address, optionally /prefix, e.g. 10.244.0.0/16)`);
    }
  });

  it('counts only IP addresses without a zone as client addresses', () => {
    expect([isClientAddress('203.0.113.9'), isClientAddress('::1'), isClientAddress('::ffff:10.0.0.1')]).toEqual([true, true, true]);
    expect([isClientAddress('fe80::1%eth0'), isClientAddress('garbage'), isClientAddress(''), isClientAddress('unknown')]).toEqual([false, false, false, false]);
  });
});
