import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import fc from 'fast-check';
import { sendRawBytes, type RawResponse } from './rawHttp.js';

/**
 * fast-check arbitraries for malformed HTTP requests, and a property that checks the error contract of
 * API.md against a running service: never a 5xx, and every non-2xx answer a JSON error body
 * (`error.code`/`message`/`requestId`, the code's own status) with the request id echoed, and, with a
 * snapshot hook, no change to the service's state.
 *
 * Requests go out on a raw TCP socket, byte for byte: paths with malformed percent-encoding or raw
 * non-ASCII bytes, header values with control characters (everything `fetch` would send: all but NUL,
 * CR and LF) and bodies in any charset reach the server exactly as generated.
 */

// ---------------------------------------------------------------------------------------------------
// Requests and their parts

/** A route of the service under test; `:name` segments are filled with generated path ids. */
export interface RouteTemplate {
  method: string;
  path: string;
  /** A valid body for this route; the generator mutates it (missing, wrong-typed, extra fields…). */
  body?: Record<string, unknown>;
  /** Headers every request to this route carries (a valid Authorization, say, to get past it). */
  headers?: Record<string, string>;
}

/** A path parameter: a value from the service's own ids (`existing`, picked at send time) or raw text. */
export type PathPiece = { existing: number; form: ExistingIdForm } | { raw: string };
export type ExistingIdForm = 'as-is' | 'upper' | 'braces' | 'no-dashes' | 'suffix' | 'percent-encoded';

/** A request body before it is encoded: JSON-ish text, then turned into bytes by `encoding`. */
export interface FuzzBody {
  text: string;
  encoding: 'utf8' | 'utf16le' | 'latin1' | 'gzip' | 'deflate' | 'br' | 'garbage';
}

/** One generated request, still symbolic (existing ids are resolved when it is sent). */
export interface FuzzCase {
  method: string;
  route: RouteTemplate;
  params: PathPiece[];
  pathSuffix: string;
  query: string;
  /** Zero, one or several X-Request-Id header lines, raw (latin1) values. */
  requestIds: string[];
  contentType: string | undefined;
  contentEncoding: string | undefined;
  body: FuzzBody | undefined;
  chunked: boolean;
  extraHeaders: [string, string][];
}

/** A request exactly as it goes on the wire. Strings are latin1: one character per byte. */
export interface RawRequest {
  method: string;
  /** The request-target, unencoded and unchecked. */
  target: string;
  headers: [string, string][];
  body?: Buffer;
  chunked?: boolean;
}


// ---------------------------------------------------------------------------------------------------
// Arbitraries

const controlChars = [...Array(32).keys(), 0x7f].filter((c) => c !== 0 && c !== 10 && c !== 13).map((c) => String.fromCharCode(c));
/** Characters `fetch` lets through in a header value: everything but NUL, CR and LF (as latin1 bytes). */
const headerChar = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: fc.integer({ min: 0x80, max: 0xff }).map((c) => String.fromCharCode(c)) },
  { weight: 2, arbitrary: fc.constantFrom(...controlChars) },
);
/**
 * A header value as bytes: no NUL, CR or LF, so it stays one header line. Mostly printable ASCII;
 * sometimes with high (latin1) bytes or control characters, which Node's HTTP parser refuses.
 */
export const headerValue = (maxLength = 200) =>
  fc.oneof(
    { weight: 4, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength }) },
    { weight: 1, arbitrary: fc.string({ unit: headerChar, maxLength }) },
  );

const validRequestIdPattern = /^[A-Za-z0-9._-]{1,128}$/;
const requestIdChars = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-');

/** X-Request-Id values: valid ones, 129+ characters, illegal printable characters, control and high bytes. */
export const requestIdValues = (): fc.Arbitrary<string> =>
  fc.oneof(
    fc.string({ unit: requestIdChars, minLength: 1, maxLength: 128 }),
    fc.string({ unit: requestIdChars, minLength: 129, maxLength: 400 }),
    fc.constantFrom('', ' ', 'bad id!', 'a/b', 'a:b', 'a,b', '../../etc/passwd', '<script>', '{"a":1}', 'caf\xe9', 'x'.repeat(128) + '!', ' padded ', '\tx\t'),
    headerValue(300),
  );

/** Content-Type values: missing, wrong types, JSON with odd charsets and parameters, multipart, garbage. */
export const contentTypes = (): fc.Arbitrary<string | undefined> =>
  fc.oneof(
    { weight: 6, arbitrary: fc.constant('application/json') },
    {
      weight: 5,
      arbitrary: fc.constantFrom(
        undefined,
        '',
        'text/plain',
        'text/json',
        'application/json; charset=utf-8',
        'application/json; charset=UTF-8',
        'application/json; charset="utf-8"',
        'application/json; charset=utf-16',
        'application/json; charset=utf-16le',
        'application/json; charset=utf-16be',
        'application/json; charset=utf-32',
        'application/json; charset=utf-7',
        'application/json; charset=latin1',
        'application/json; charset=iso-8859-1',
        'application/json; charset=ascii',
        'application/json; charset=bogus',
        'application/json; charset=',
        'application/json; charset',
        'application/json;;;',
        'application/json; boundary=x',
        'APPLICATION/JSON',
        'application/json, text/plain',
        'application/vnd.api+json',
        'application/merge-patch+json',
        'application/*',
        '*/*',
        'json',
        'multipart/form-data',
        'multipart/form-data; boundary=----x',
        'application/x-www-form-urlencoded',
        'application/octet-stream',
        'text/html; charset=utf-8',
      ),
    },
    { weight: 1, arbitrary: headerValue(80) },
  );

/** Content-Encoding values (the body is encoded to match, or not). */
export const contentEncodings = (): fc.Arbitrary<string | undefined> =>
  fc.oneof(
    { weight: 8, arbitrary: fc.constant(undefined) },
    { weight: 2, arbitrary: fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'bogus', 'gzip, gzip', 'x-gzip', 'compress', '') },
  );

/** A JSON literal to splice in as is, for what JSON.stringify can't write (1e400, escaped surrogates…). */
export class RawJson {
  constructor(readonly text: string) {}
}

/** JSON.stringify that writes RawJson values verbatim. */
export function stringifyJsonish(value: unknown): string {
  if (value instanceof RawJson) return value.text;
  if (Array.isArray(value)) return `[${value.map(stringifyJsonish).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.entries(value)
      .map(([k, v]) => `${JSON.stringify(k)}:${stringifyJsonish(v)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** Strings a text field must refuse, or that sit on its edges. */
export const edgeStrings = (): fc.Arbitrary<unknown> =>
  fc.oneof(
    fc.constantFrom(
      '',
      ' ',
      '\t\n\r ',
      '\u00a0\u2003\ufeff',
      'a\u0000b',
      '\u0000',
      'x'.repeat(201),
      'x'.repeat(2001),
      '\u{1F600}'.repeat(101),
      '\u200b',
      'e\u0301',
      '\u202etxet',
      "'; drop table courses; --",
      '%s%n',
      '{{7*7}}',
    ),
    fc.constantFrom('"\\ud800"', '"\\udfff"', '"a\\ud800b"', '"\\udc00\\ud800"', '"\\u0000"', '"\\ud83d"').map((t) => new RawJson(t)),
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.string({ unit: 'grapheme', minLength: 150, maxLength: 260 }),
  );

/** Numbers (and non-numbers) a numeric field must refuse, or that sit on its edges. */
export const edgeNumbers = (): fc.Arbitrary<unknown> =>
  fc.oneof(
    fc.constantFrom(-1, 0, 1, 30, 31, 1.5, -0.5, 2 ** 31, -(2 ** 31) - 1, 2 ** 53, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER),
    fc.constantFrom('1e400', '-1e400', '1e-400', '-0', '1E2', '9'.repeat(400), '0.1e1', '1.0', '30.000000000000001').map((t) => new RawJson(t)),
    fc.constantFrom('5', '', 'NaN', true, null, [1], { n: 1 }),
    fc.double(),
    fc.integer(),
  );

/** Values of the wrong JSON type for anything. */
export const wrongTypes = (): fc.Arbitrary<unknown> =>
  fc.oneof(
    fc.constantFrom(null, true, false, 0, -1, '', [], {}, [null], { '': '' }),
    fc.jsonValue({ maxDepth: 2 }),
  );

const extraKeys = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'prototype', '', 'id', 'createdAt', 'title ', 'TITLE', '$where', 'a.b', '\u0000'),
  fc.string({ maxLength: 20 }),
);

/** Mutations of a valid body: a field dropped, wrong-typed, an edge value, an extra field, duplicate keys. */
export function mutatedBodies(sample: Record<string, unknown>): fc.Arbitrary<string> {
  const keys = Object.keys(sample);
  const valueFor = (key: string): fc.Arbitrary<unknown> => {
    const v = sample[key];
    if (typeof v === 'string') return fc.oneof(edgeStrings(), wrongTypes());
    if (typeof v === 'number') return fc.oneof(edgeNumbers(), wrongTypes());
    return wrongTypes();
  };
  const replaceOne =
    keys.length === 0
      ? fc.constant(stringifyJsonish(sample))
      : fc
          .constantFrom(...keys)
          .chain((key) => valueFor(key).map((value) => stringifyJsonish({ ...sample, [key]: value })));
  const editSeveral = fc
    .record(Object.fromEntries(keys.map((k) => [k, fc.oneof(fc.constant(sample[k]), valueFor(k), fc.constant(undefined))])))
    .map((o) => stringifyJsonish(Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined))));
  const dropOne = keys.length === 0 ? fc.constant('{}') : fc.constantFrom(...keys).map((key) => stringifyJsonish(omit(sample, key)));
  const addOne = fc
    .tuple(extraKeys, fc.jsonValue({ maxDepth: 1 }))
    .map(([key, value]) => `{${[...Object.entries(sample).map(([k, v]) => `${JSON.stringify(k)}:${stringifyJsonish(v)}`), `${JSON.stringify(key)}:${JSON.stringify(value)}`].join(',')}}`);
  const duplicateKey =
    keys.length === 0
      ? fc.constant('{"a":1,"a":2}')
      : fc.tuple(fc.constantFrom(...keys), wrongTypes()).map(([key, value]) => `${stringifyJsonish(sample).slice(0, -1)},${JSON.stringify(key)}:${JSON.stringify(value)}}`);
  const wrapped = fc.constantFrom(`[${stringifyJsonish(sample)}]`, `{"data":${stringifyJsonish(sample)}}`, `"${JSON.stringify(sample).replaceAll('"', '\\"')}"`);
  return fc.oneof(replaceOne, editSeveral, dropOne, addOne, duplicateKey, wrapped, fc.constant(stringifyJsonish(sample)));
}

/** JSON-ish text: valid JSON of any shape, truncated JSON, deep nesting, huge numbers, NULs, BOMs, junk. */
export function jsonishBodies(sample?: Record<string, unknown>): fc.Arbitrary<string> {
  const someJson = sample ? fc.constant(stringifyJsonish(sample)) : fc.json({ maxDepth: 3 });
  return fc.oneof(
    { weight: 1, arbitrary: fc.json({ maxDepth: 4 }) },
    { weight: 1, arbitrary: fc.tuple(fc.oneof(someJson, fc.json()), fc.nat()).map(([j, n]) => j.slice(0, j.length > 1 ? n % (j.length - 1) : 0)) },
    {
      weight: 1,
      arbitrary: fc.tuple(fc.integer({ min: 50, max: 5000 }), fc.constantFrom('[]', '{}', 'unbalanced')).map(([n, kind]) =>
        kind === '[]' ? '['.repeat(n) + ']'.repeat(n) : kind === '{}' ? '{"a":'.repeat(Math.min(n, 3000)) + '1' + '}'.repeat(Math.min(n, 3000)) : '['.repeat(n),
      ),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '',
        ' ',
        'null',
        'true',
        '0',
        '"title"',
        '[]',
        '{}',
        '1e999999',
        '-' + '9'.repeat(5000),
        'NaN',
        'Infinity',
        '{"title":NaN}',
        "{'title':'x'}",
        '{title:"x"}',
        '{"title":"x",}',
        '{"title":"a\u0000b"}',
        '{"title":"tab\there"}',
        '\ufeff{"title":"bom"}',
        '{"title":"x"}garbage',
        '{"title":"x"}{"title":"y"}',
        '{"title":"\\x41"}',
        '{"title":"\\u00"}',
        '{"__proto__":{"admin":true},"title":"x"}',
        '{"constructor":{"prototype":{"polluted":1}}}',
        'title=x&credits=1',
        '------x\r\nContent-Disposition: form-data; name="title"\r\n\r\nx\r\n------x--\r\n',
        '<?xml version="1.0"?><title>x</title>',
      ),
    },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 300 }) },
    {
      weight: 1,
      arbitrary: fc.tuple(someJson, fc.integer({ min: 16 * 1024 - 64, max: 64 * 1024 })).map(([j, size]) =>
        j.startsWith('{') && j.length > 2 ? `{"padding":"${'x'.repeat(Math.max(0, size - j.length - 14))}",${j.slice(1)}` : `[${'0,'.repeat(Math.floor(size / 2))}0]`,
      ),
    },
    ...(sample ? [{ weight: 4, arbitrary: mutatedBodies(sample) }] : []),
  );
}

/** Request bodies: JSON-ish text in one of several byte encodings (charsets, compression, random bytes). */
export function bodies(sample?: Record<string, unknown>): fc.Arbitrary<FuzzBody | undefined> {
  return fc.oneof(
    { weight: 1, arbitrary: fc.constant(undefined) },
    {
      weight: 6,
      arbitrary: fc.record({
        text: jsonishBodies(sample),
        encoding: fc.constantFrom<FuzzBody['encoding']>('utf8', 'utf8', 'utf8', 'utf8', 'utf8', 'utf16le', 'latin1', 'gzip', 'deflate', 'br', 'garbage'),
      }),
    },
  );
}

/** Path ids: the service's own ids in odd spellings, random UUIDs, non-UUIDs, unicode, percent junk, very long. */
export function pathIds(): fc.Arbitrary<PathPiece> {
  const byte = (b: number) => `%${b.toString(16).padStart(2, '0').toUpperCase()}`;
  const percentEncode = (s: string) => [...Buffer.from(s, 'utf8')].map(byte).join('');
  return fc.oneof(
    {
      weight: 3,
      arbitrary: fc.record({
        existing: fc.nat(),
        form: fc.constantFrom<ExistingIdForm>('as-is', 'as-is', 'upper', 'braces', 'no-dashes', 'suffix', 'percent-encoded'),
      }),
    },
    { weight: 1, arbitrary: fc.uuid().map((raw) => ({ raw })) },
    {
      weight: 3,
      arbitrary: fc
        .constantFrom(
          '0',
          '-1',
          '42',
          '1e3',
          'null',
          'undefined',
          'NaN',
          '%zz',
          '%',
          '%%',
          '%0',
          '%00',
          '%ff',
          '%FF%FE',
          '%c3%28',
          '%ed%a0%80',
          '%F0%9F%98%80',
          '%E2%80%AE',
          '..',
          '.',
          '%2e%2e',
          '%2E',
          '%2f',
          '%5c',
          '%252f',
          '%u0041',
          ';',
          ';a=b',
          ',',
          '$',
          '~',
          "'",
          '%27%20or%201=1--',
          '00000000-0000-0000-0000-000000000000',
          'ffffffff-ffff-ffff-ffff-ffffffffffff',
          '{00000000-0000-0000-0000-000000000000}',
          '00000000000000000000000000000000',
          'urn:uuid:00000000-0000-0000-0000-000000000000',
          '00000000-0000-0000-0000-00000000000g',
          '00000000-0000-0000-0000-0000000000000',
          '00000000-0000-0000-0000-00000000000',
          '0000000%EF%BC%90-0000-0000-0000-000000000000',
          '%30%30%30%30%30%30%30%30-0000-0000-0000-000000000000',
        )
        .map((raw) => ({ raw })),
    },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }).map((s) => ({ raw: percentEncode(s) })) },
    // Raw bytes and characters no client should send unencoded: the HTTP parser's problem, answered all the same.
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 10 }).map((s) => ({ raw: Buffer.from(s, 'utf8').toString('latin1') })) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 30 }).map((raw) => ({ raw })) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 10 }).map((s) => ({ raw: percentEncode(s) })) },
    { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 200, max: 20_000 }), fc.constantFrom('a', '0', '%41', '-')).map(([n, c]) => ({ raw: c.repeat(n) })) },
  );
}

/** Query strings: repeated keys, negative/huge/float/empty numbers, cursor look-alikes, `limit[]=1`, junk and malformed escapes. */
export function queryStrings(keys: string[] = ['limit', 'cursor']): fc.Arbitrary<string> {
  const key = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...keys) },
    { weight: 3, arbitrary: fc.constantFrom(...keys.flatMap((k) => [`${k}[]`, `${k}[0]`, `${k}[a]`, `${k}[a][b]`, `${k}.x`, k.toUpperCase(), `${k}%00`, `%${k}`])) },
    { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', '', '%zz', '%', '&', 'a b') },
    { weight: 1, arbitrary: fc.string({ maxLength: 10 }) },
  );
  const value = fc.oneof(
    {
      weight: 6,
      arbitrary: fc.constantFrom(
        '',
        '0',
        '1',
        '20',
        '100',
        '101',
        '-1',
        '-0',
        '+1',
        '1.5',
        '1.0',
        '1e2',
        '0x10',
        '010',
        ' 1',
        '1 ',
        '%201',
        '%EF%BC%91',
        'NaN',
        'Infinity',
        'null',
        'true',
        '9'.repeat(16),
        '9'.repeat(400),
        '99999999999999999999',
        '9007199254740993',
        '%zz',
        '%',
        '%00',
        '%E2%82%AC',
        '[]',
        '{}',
        // Cursor look-alikes: the right shape with a wrong tag, or a payload that is not a position.
        'eyJ9.eyJ9',
        'WzAsIngiXQ.AAAAAAAAAAAAAAAA',
        'a.b.c',
        '.',
      ),
    },
    { weight: 1, arbitrary: fc.integer().map(String) },
    { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
  );
  const pair = fc.oneof(
    { weight: 5, arbitrary: fc.tuple(key, value).map(([k, v]) => `${k}=${v}`) },
    { weight: 1, arbitrary: key },
    { weight: 1, arbitrary: fc.tuple(key, value, value).map(([k, v, w]) => `${k}=${v}=${w}`) },
  );
  return fc.oneof(
    { weight: 1, arbitrary: fc.constantFrom('', '?', '??', '?&', '?&&&', '?=', '?#x', '?;') },
    { weight: 8, arbitrary: fc.tuple(fc.array(pair, { minLength: 1, maxLength: 6 }), fc.constantFrom('&', '&', '&', ';', '&&')).map(([pairs, sep]) => `?${pairs.join(sep)}`) },
  );
}

/** Other headers an attacker or a broken proxy might send. */
export const extraHeaders = (): fc.Arbitrary<[string, string][]> =>
  fc.array(
    fc.tuple(
      fc.constantFrom('X-Forwarded-For', 'Accept', 'Accept-Charset', 'Accept-Encoding', 'Accept-Language', 'User-Agent', 'Cookie', 'Authorization', 'Origin', 'Range', 'X-Foo', 'Content-Language'),
      headerValue(100),
    ),
    { maxLength: 3 },
  );

const methodsWithBody = new Set(['POST', 'PUT', 'PATCH']);
/** Methods besides a route's own: other verbs and ones no router knows. */
const otherMethods = fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'PROPFIND', 'FOO', 'get', 'CONNECT');

/** A whole malformed request for one of the routes. */
export function fuzzCases(routes: RouteTemplate[], options: { queryKeys?: string[] } = {}): fc.Arbitrary<FuzzCase> {
  assert(routes.length > 0, 'fuzzCases needs at least one route');
  return fc.constantFrom(...routes).chain((route) => {
    const paramCount = (route.path.match(/:\w+/g) ?? []).length;
    const sendsBody = methodsWithBody.has(route.method.toUpperCase());
    return fc
      .record({
        method: fc.oneof({ weight: 9, arbitrary: fc.constant(route.method) }, { weight: 1, arbitrary: otherMethods }),
        route: fc.constant(route),
        params: fc.array(pathIds(), { minLength: paramCount, maxLength: paramCount }),
        pathSuffix: fc.oneof({ weight: 12, arbitrary: fc.constant('') }, { weight: 1, arbitrary: fc.constantFrom('/', '//', '/x', '%2f', ';x', '/..', '/%2e%2e', '/.', '?') }),
        query: fc.oneof({ weight: route.method === 'GET' ? 1 : 3, arbitrary: fc.constant('') }, { weight: 1, arbitrary: queryStrings(options.queryKeys) }),
        requestIds: fc.oneof({ weight: 1, arbitrary: fc.constant<string[]>([]) }, { weight: 3, arbitrary: fc.array(requestIdValues(), { minLength: 1, maxLength: 2 }) }),
        contentType: sendsBody ? contentTypes() : fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: contentTypes() }),
        contentEncoding: contentEncodings(),
        body: sendsBody ? bodies(route.body) : fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: bodies(route.body) }),
        chunked: fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
        extraHeaders: fc.oneof({ weight: 3, arbitrary: fc.constant<[string, string][]>([]) }, { weight: 1, arbitrary: extraHeaders() }),
      })
      .map((c) => withToString(c));
  });
}

const clip = (s: string, n = 120) => (s.length > n ? `${s.slice(0, n)}…(${s.length} chars)` : s);
function withToString(c: FuzzCase): FuzzCase {
  return Object.assign(c, {
    [fc.toStringMethod]: () =>
      JSON.stringify({
        ...c,
        route: `${c.route.method} ${c.route.path}`,
        params: c.params.map((p) => ('raw' in p ? clip(p.raw) : p)),
        body: c.body && { encoding: c.body.encoding, text: clip(c.body.text, 300) },
        requestIds: c.requestIds.map((r) => clip(r)),
      }),
  });
}

// ---------------------------------------------------------------------------------------------------
// From a case to bytes

function existingIdIn(form: ExistingIdForm, id: string): string {
  switch (form) {
    case 'as-is':
      return id;
    case 'upper':
      return id.toUpperCase();
    case 'braces':
      return `{${id}}`;
    case 'no-dashes':
      return id.replaceAll('-', '');
    case 'suffix':
      return `${id}0`;
    case 'percent-encoded':
      return [...id].map((ch) => `%${ch.charCodeAt(0).toString(16)}`).join('');
  }
}

function encodeBody(body: FuzzBody): Buffer {
  const utf8 = Buffer.from(body.text, 'utf8');
  switch (body.encoding) {
    case 'utf8':
      return utf8;
    case 'utf16le':
      return Buffer.from(body.text, 'utf16le');
    case 'latin1':
      return Buffer.from(body.text, 'latin1');
    case 'gzip':
      return zlib.gzipSync(utf8);
    case 'deflate':
      return zlib.deflateSync(utf8);
    case 'br':
      return zlib.brotliCompressSync(utf8);
    case 'garbage':
      // The body's text mangled into bytes that are not valid UTF-8 (nor any compression format).
      return Buffer.from(utf8.map((b, i) => (i % 3 === 0 ? b ^ 0x80 : b)));
  }
}

/** The bytes of a case, with the service's existing ids filled in. */
export function toRawRequest(c: FuzzCase, existingIds: string[] = []): RawRequest {
  let i = 0;
  const path = c.route.path.replace(/:\w+/g, () => {
    const piece = c.params[i++];
    if (!piece) return '';
    if ('raw' in piece) return piece.raw;
    const id = existingIds.length > 0 ? existingIds[piece.existing % existingIds.length]! : '00000000-0000-4000-8000-000000000000';
    return existingIdIn(piece.form, id);
  });
  const headers: [string, string][] = [...Object.entries(c.route.headers ?? {}), ...c.requestIds.map((v): [string, string] => ['X-Request-Id', v])];
  if (c.contentType !== undefined) headers.push(['Content-Type', c.contentType]);
  // Compressed bodies usually say so (sometimes with the wrong name); other encodings name theirs.
  const encoding = c.contentEncoding ?? (c.body && ['gzip', 'deflate', 'br'].includes(c.body.encoding) ? c.body.encoding : undefined);
  if (encoding !== undefined) headers.push(['Content-Encoding', encoding]);
  headers.push(...c.extraHeaders);
  return {
    method: c.method,
    target: `${path}${c.pathSuffix}${c.query}`,
    headers,
    ...(c.body ? { body: encodeBody(c.body) } : {}),
    chunked: c.chunked,
  };
}

/**
 * Sends a request byte for byte on a fresh connection (`Connection: close`) and reads the answer to the
 * end. Rejects when the server closes without answering, or does not answer within `timeoutMs`.
 */
export function sendRaw(baseUrl: string, request: RawRequest, timeoutMs = 10_000): Promise<RawResponse> {
  const url = new URL(baseUrl);
  const lines = [`${request.method} ${request.target} HTTP/1.1`, `Host: ${url.host}`, ...request.headers.map(([k, v]) => `${k}: ${v}`)];
  let payload = request.body ?? Buffer.alloc(0);
  if (request.chunked) {
    lines.push('Transfer-Encoding: chunked');
    const cut = Math.floor(payload.length / 2);
    const chunks = [payload.subarray(0, cut), payload.subarray(cut)].filter((b) => b.length > 0);
    payload = Buffer.concat([...chunks.flatMap((b) => [Buffer.from(`${b.length.toString(16)}\r\n`), b, Buffer.from('\r\n')]), Buffer.from('0\r\n\r\n')]);
  } else if (request.body) {
    lines.push(`Content-Length: ${request.body.length}`);
  }
  lines.push('Connection: close');
  const bytes = Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), payload]);

  return sendRawBytes(baseUrl, bytes, timeoutMs, `${request.method} ${clip(request.target)}`);
}

// ---------------------------------------------------------------------------------------------------
// The contract

/**
 * Every error code and its status as API.md states them, written out here rather than read from the kit's
 * `errorStatus`, so the contract checks hold that table to API.md instead of to itself. The "error codes"
 * row; `course_not_found` 422 from the teacher service's assignment route; `unauthorized` for the status
 * service's "a wrong or missing token is 401" (API.md gives the status, the code name is ours).
 */
export const contractErrorStatus: Readonly<Record<string, number>> = {
  invalid_json: 400,
  validation_failed: 400,
  unauthorized: 401,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  course_not_found: 422,
  rate_limited: 429,
  internal: 500,
  dependency_unavailable: 503,
  overloaded: 503,
};

/** Header values the server sees: HTTP trims optional whitespace around them. */
const trimOws = (v: string) => v.replace(/^[ \t]+|[ \t]+$/g, '');

/** Node's limit on a request's head (request line and headers): 16 KiB. */
const maxHeadBytes = 16 * 1024;

/**
 * A 413 for a head whose X-Request-Id line starts past Node's head limit. The service reads the id from
 * the chunk the parser failed on, so whether it still sees that line depends on how TCP split the
 * request: keeping the id and making a new one are both right.
 */
function idBeyondHeaderLimit(request: RawRequest, response: RawResponse): boolean {
  if (response.status !== 413) return false;
  // sendRaw puts a Host line (at most `Host: 127.0.0.1:65535`) before the request's own headers.
  let bytes = Buffer.byteLength(`${request.method} ${request.target} HTTP/1.1\r\nHost: 127.0.0.1:65535\r\n`, 'latin1');
  for (const [name, value] of request.headers) {
    if (name.toLowerCase() === 'x-request-id') return bytes > maxHeadBytes;
    bytes += Buffer.byteLength(`${name}: ${value}\r\n`, 'latin1');
  }
  return false;
}

/**
 * Throws (with what was sent and answered) unless the answer keeps API.md's error contract:
 * no 5xx; a well-formed X-Request-Id, the client's own when it sent one valid id; and for every
 * non-2xx, `application/json` with `{"error":{"code","message","requestId"}}`, the code one of the
 * contract's with its own status, the request id the header's, and no stack trace.
 */
export function assertErrorContract(request: RawRequest, response: RawResponse, codes: Readonly<Record<string, number>> = contractErrorStatus): void {
  const where = () => `${request.method} ${clip(request.target)} answered ${response.status} ${clip(response.text, 300)}`;
  assert.ok(response.status < 500, `5xx: ${where()}`);

  const echoed = response.headers['x-request-id'];
  assert.ok(echoed !== undefined && validRequestIdPattern.test(echoed), `no valid X-Request-Id answered (${echoed}): ${where()}`);
  const sent = request.headers.filter(([k]) => k.toLowerCase() === 'x-request-id').map(([, v]) => trimOws(v));
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
  const keepable = sent.length === 1 && validRequestIdPattern.test(sent[0]!);
  if (keepable && idBeyondHeaderLimit(request, response)) {
    assert.ok(echoed === sent[0] || uuid.test(echoed), `an X-Request-Id past the head limit was neither kept nor replaced by a UUID: ${where()}`);
  } else if (keepable) assert.equal(echoed, sent[0], `a valid X-Request-Id was not kept: ${where()}`);
  else assert.match(echoed, uuid, `an invalid X-Request-Id was not replaced by a UUID: ${where()}`);

  if (response.status >= 200 && response.status < 300) return;
  assert.match(response.headers['content-type'] ?? '(none)', /^application\/json(;|$)/, `non-2xx without a JSON content type: ${where()}`);
  let body: unknown;
  try {
    body = JSON.parse(response.text);
  } catch {
    assert.fail(`non-2xx body is not JSON: ${where()}`);
  }
  const error = (body as { error?: Record<string, unknown> } | null)?.error;
  assert.ok(error && typeof error === 'object', `non-2xx without an error object: ${where()}`);
  assert.equal(typeof error.code, 'string', `error.code is not a string: ${where()}`);
  assert.ok(Object.hasOwn(codes, error.code as string), `unknown error code ${String(error.code)}: ${where()}`);
  assert.equal(response.status, codes[error.code as string], `status does not match error code ${String(error.code)}: ${where()}`);
  assert.ok(typeof error.message === 'string' && error.message.length > 0, `error.message is not a non-empty string: ${where()}`);
  assert.equal(error.requestId, echoed, `error.requestId is not the X-Request-Id answered: ${where()}`);
  if (error.details !== undefined) {
    assert.ok(Array.isArray(error.details), `error.details is not an array: ${where()}`);
    for (const d of error.details as unknown[]) {
      const { path, message } = d as { path?: unknown; message?: unknown };
      assert.ok(typeof path === 'string' && typeof message === 'string', `malformed error detail ${JSON.stringify(d)}: ${where()}`);
    }
  }
  assert.doesNotMatch(response.text, /\n\s+at .+:\d+:\d+|<html|<!DOCTYPE/i, `stack trace or HTML in an error body: ${where()}`);
}

export interface ContractPropertyOptions {
  /** The service's base URL (http://127.0.0.1:port); a function when it is only known later. */
  baseUrl: string | (() => string);
  routes: RouteTemplate[];
  /** Ids of things that exist, so some requests with bad bodies or odd id spellings hit real rows. */
  ids?: () => Promise<string[]> | string[];
  /**
   * The service's state (say, row count and a checksum of all rows). Taken before and after each
   * request; after every non-2xx answer it must be unchanged (deep equality).
   */
  snapshot?: () => Promise<unknown>;
  /** Query keys the service reads (default limit and cursor). */
  queryKeys?: string[];
  /** The error codes and their statuses (default: API.md's, `contractErrorStatus`). */
  codes?: Readonly<Record<string, number>>;
  /** Called with every request and answer, for statistics or extra checks. */
  onAnswer?: (request: RawRequest, response: RawResponse) => void | Promise<void>;
}

/** How many requests a property sends by default: enough to find the usual suspects, a few seconds. */
export const fuzzRuns = 150;

/**
 * The property "no 5xx; every non-2xx is the JSON error body; state unchanged after a rejected request",
 * over malformed requests to the given routes. Run it with `fc.assert(property, { numRuns: fuzzRuns })`.
 */
export function errorContractProperty(options: ContractPropertyOptions): fc.IAsyncPropertyWithHooks<[FuzzCase]> {
  return fc.asyncProperty(fuzzCases(options.routes, options.queryKeys ? { queryKeys: options.queryKeys } : {}), async (c) => {
    const baseUrl = typeof options.baseUrl === 'function' ? options.baseUrl() : options.baseUrl;
    const request = toRawRequest(c, (await options.ids?.()) ?? []);
    const before = await options.snapshot?.();
    const response = await sendRaw(baseUrl, request);
    await options.onAnswer?.(request, response);
    assertErrorContract(request, response, options.codes);
    if (options.snapshot && (response.status < 200 || response.status >= 300)) {
      assert.deepStrictEqual(await options.snapshot(), before, `state changed after a rejected request: ${request.method} ${clip(request.target)} answered ${response.status}`);
    }
  });
}

/**
 * Runs `errorContractProperty` for `fuzzRuns` requests and returns how many answers of each status came
 * back, so a caller can check the fuzzer got past the front door (more than one kind of answer).
 */
export async function checkErrorContract(options: ContractPropertyOptions): Promise<Map<number, number>> {
  const statuses = new Map<number, number>();
  await fc.assert(
    errorContractProperty({
      ...options,
      onAnswer: async (request, response) => {
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        await options.onAnswer?.(request, response);
      },
    }),
    { numRuns: fuzzRuns },
  );
  return statuses;
}

function omit(o: Record<string, unknown>, key: string): Record<string, unknown> {
  const copy = { ...o };
  delete copy[key];
  return copy;
}
