import { bodyValidator, openApiErrors, parameterValidator, responseValidator, testFetch } from '@courseops/kit/testing';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drivers, json, startCourse, type RunningCourse } from './harness.js';

describe.each(drivers)('course /openapi.json on %s', (driver) => {
  let course: RunningCourse;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let document: any;
  const call = (path: string, init: RequestInit = {}) => testFetch(`${course.url}${path}`, init);

  beforeAll(async () => {
    course = await startCourse(driver);
    const res = await call('/openapi.json');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    document = await res.json();
  });
  afterAll(() => course.stop());

  it('is a valid OpenAPI 3.1 document of every route, with links from a created course', async () => {
    expect(await openApiErrors(document)).toEqual({ version: '3.1', errors: undefined });
    expect(Object.keys(document.paths).sort()).toEqual(['/api/courses', '/api/courses/{id}', '/healthz', '/metrics', '/readyz']);
    expect(Object.keys(document.paths['/api/courses/{id}']).sort()).toEqual(['delete', 'get', 'put']);
    expect(document.paths['/api/courses'].post.responses['201'].links.GetCourse).toEqual({
      operationId: 'getCourse',
      parameters: { id: '$response.body#/id' },
    });
  });

  const posted = (body: unknown) => call('/api/courses', { method: 'POST', ...json(body) });

  it.each([
    { title: 'Kubernetes 101' },
    { title: 'x'.repeat(200), description: 'd'.repeat(2000), credits: 30 },
    { title: 'a\ufeff', description: '', credits: 0 },
    { title: '' },
    { title: ' \u3000\n' },
    { title: 'x'.repeat(201) },
    { title: 'a\u0000' },
    { title: '\ufeffleading BOM' },
    { title: 't', credits: 31 },
    { title: 't', credits: 1.5 },
    { title: 't', credits: -1 },
    { title: 't', description: 'd'.repeat(2001) },
    { title: 't', teacher: 'x' },
    { credits: 1 },
  ])('answers 201 to the body %j exactly when the document accepts it, else 400', async (body) => {
    const accepts = bodyValidator(document, '/api/courses', 'post');
    const res = await posted(body);
    expect(res.status).toBe(accepts(body) ? 201 : 400);
  });

  // Well-formed text (JSON Schema has no word for an unpaired surrogate, which the service refuses too).
  it('agrees with the document on any title', async () => {
    const accepts = bodyValidator(document, '/api/courses', 'post');
    const edge = fc.constantFrom('', ' ', '\u0000', '\ufeff', '\u3000', '\n');
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'grapheme', maxLength: 210 }), edge, fc.boolean(), async (text, extra, before) => {
        const title = before ? extra + text : text + extra;
        const res = await posted({ title });
        expect(res.status).toBe(accepts({ title }) ? 201 : 400);
      }),
      { numRuns: 60 },
    );
  });

  it('agrees with the document on `limit` and on a path id', async () => {
    const limitOk = parameterValidator(document, '/api/courses', 'get', 'limit');
    for (const limit of ['0', '1', '20', '100', '101', '-1', 'abc', '1.5']) {
      expect((await call(`/api/courses?limit=${limit}`)).status, limit).toBe(limitOk(limit) ? 200 : 400);
    }
    const idOk = parameterValidator(document, '/api/courses/{id}', 'get', 'id');
    for (const id of ['42', '00000000-0000-0000-0000-00000000000g', 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee']) {
      expect((await call(`/api/courses/${id}`)).status, id).toBe(idOk(id) ? 404 : 400);
    }
  });

  it('describes the answers the service gives', async () => {
    const created = await posted({ title: 'Described', credits: 3 });
    expect(responseValidator(document, '/api/courses', 'post', 201)(await created.json())).toBe(true);
    const page = await (await call('/api/courses?limit=2')).json();
    expect(responseValidator(document, '/api/courses', 'get', 200)(page)).toBe(true);
    const problem = await (await call('/api/courses?limit=0')).json();
    expect(responseValidator(document, '/api/courses', 'get', 400)(problem)).toBe(true);
    // The schema is strict: an answer with a field the document does not name would break it.
    expect(responseValidator(document, '/api/courses', 'post', 201)({ ...page.items[0], extra: 1 })).toBe(false);
  });
});
