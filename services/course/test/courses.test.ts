import { testFetch } from '@courseops/kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drivers, json, startCourse, type RunningCourse } from './harness.js';

describe.each(drivers)('course API on %s', (driver) => {
  let course: RunningCourse;
  const call = (path: string, init: RequestInit = {}) => testFetch(`${course.url}${path}`, init);

  beforeAll(async () => {
    course = await startCourse(driver);
  });
  afterAll(() => course.stop());

  it('creates a course with defaults and a Location header', async () => {
    const res = await call('/api/courses', { method: 'POST', ...json({ title: 'Kubernetes 101' }) });
    expect(res.status).toBe(201);
    const body = await res.json();
    expect(body).toMatchObject({ title: 'Kubernetes 101', description: '', credits: 0 });
    expect(body.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(new Date(body.createdAt).toISOString()).toBe(body.createdAt);
    expect(body.updatedAt).toBe(body.createdAt);
    expect(res.headers.get('location')).toBe(`/api/courses/${body.id}`);
    const fetched = await call(`/api/courses/${body.id}`);
    expect(fetched.status).toBe(200);
    expect(await fetched.json()).toEqual(body);
  });

  it('updates, then deletes, a course', async () => {
    const created = await (await call('/api/courses', { method: 'POST', ...json({ title: 'Old', credits: 3 }) })).json();
    const updated = await call(`/api/courses/${created.id}`, {
      method: 'PUT',
      ...json({ title: 'New', description: 'about things', credits: 5 }),
    });
    expect(updated.status).toBe(200);
    const body = await updated.json();
    expect(body).toMatchObject({ id: created.id, title: 'New', description: 'about things', credits: 5, createdAt: created.createdAt });
    expect(Date.parse(body.updatedAt)).toBeGreaterThanOrEqual(Date.parse(created.updatedAt));

    expect((await call(`/api/courses/${created.id}`, { method: 'DELETE' })).status).toBe(204);
    const gone = await call(`/api/courses/${created.id}`);
    expect(gone.status).toBe(404);
    expect((await gone.json()).error.code).toBe('not_found');
    expect((await call(`/api/courses/${created.id}`, { method: 'DELETE' })).status).toBe(404);
    expect((await call(`/api/courses/${created.id}`, { method: 'PUT', ...json({ title: 'x' }) })).status).toBe(404);
  });

  it('lists in creation order, one keyset page at a time, without a total', async () => {
    const titles = ['a', 'b', 'c', 'd', 'e'].map((t) => `list-${driver}-${t}`);
    const created: { id: string }[] = [];
    for (const title of titles) created.push(await (await call('/api/courses', { method: 'POST', ...json({ title }) })).json());
    // The page before the new courses ends just before the first of them.
    const all: { id: string; title: string }[] = [];
    for (let cursor = ''; ; ) {
      const page = await (await call(`/api/courses?limit=2${cursor}`)).json();
      expect(Object.keys(page).sort()).toEqual(['items', 'nextCursor']);
      all.push(...page.items);
      if (page.nextCursor === null) break;
      cursor = `&cursor=${page.nextCursor}`;
    }
    expect(all.slice(-5).map((c) => c.title)).toEqual(titles);
    expect(all.slice(-5).map((c) => c.id)).toEqual(created.map((c) => c.id));
    const defaults = await (await call('/api/courses')).json();
    expect(defaults.items).toHaveLength(Math.min(20, all.length));
    expect(defaults.nextCursor === null).toBe(all.length <= 20);
  });

  it.each([
    ['a missing title', { credits: 1 }, 'body.title'],
    ['a blank title', { title: '   ' }, 'body.title'],
    ['a title over 200 characters', { title: 'x'.repeat(201) }, 'body.title'],
    ['credits over 30', { title: 't', credits: 31 }, 'body.credits'],
    ['fractional credits', { title: 't', credits: 1.5 }, 'body.credits'],
    ['an unknown field', { title: 't', teacher: 'x' }, 'body'],
    ['a NUL character', { title: 'a\u0000b' }, 'body.title'],
  ])('rejects %s with validation_failed and its path', async (_name, body, path) => {
    const res = await call('/api/courses', { method: 'POST', ...json(body, { 'x-request-id': 'req-123' }) });
    expect(res.status).toBe(400);
    const { error } = await res.json();
    expect(error.code).toBe('validation_failed');
    expect(error.requestId).toBe('req-123');
    expect(error.details.map((d: { path: string }) => d.path)).toContain(path);
  });

  it.each([
    ['invalid JSON', { 'content-type': 'application/json' }, '{"title":', 400, 'invalid_json'],
    ['a non-JSON body', { 'content-type': 'text/plain' }, 'title=x', 415, 'unsupported_media_type'],
    ['a body over 16 KiB', { 'content-type': 'application/json' }, JSON.stringify({ title: 'x', description: 'y'.repeat(17_000) }), 413, 'payload_too_large'],
  ])('answers %s with its error code', async (_name, headers, body, status, code) => {
    const res = await call('/api/courses', { method: 'POST', headers, body });
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect((await res.json()).error.code).toBe(code);
  });

  it('rejects a path id that is not a UUID and bad list parameters', async () => {
    expect((await (await call('/api/courses/42')).json()).error.code).toBe('validation_failed');
    for (const q of ['limit=0', 'limit=101', 'limit=abc', 'limit=-1', 'limit=1&limit=2', 'cursor=x', 'cursor=a.b&cursor=a.b']) {
      const res = await call(`/api/courses?${q}`);
      expect(res.status, q).toBe(400);
    }
  });

  it('answers an unknown route with a JSON 404', async () => {
    const res = await call('/nope');
    expect(res.status).toBe(404);
    expect((await res.json()).error.code).toBe('not_found');
  });

  it('serves health, readiness and metrics', async () => {
    expect(await (await call('/healthz')).json()).toEqual({ status: 'ok' });
    const ready = await (await call('/readyz')).json();
    expect(ready.status).toBe('ready');
    expect(ready.checks.database).toMatchObject({ status: 'up' });
    const metrics = await (await call('/metrics')).text();
    expect(metrics).toMatch(/http_requests_total\{method="POST",route="\/api\/courses",status_code="201"\} \d+/);
    expect(metrics).toMatch(/http_request_duration_seconds_bucket\{le="0.005",method="GET",route="\/api\/courses\/:id",status_code="200"\}/);
    expect(metrics).toMatch(/db_query_duration_seconds_count\{operation="insert_course"\} \d+/);
    expect(metrics).toMatch(/courses_created_total \d+/);
    expect(metrics).toMatch(/courses_deleted_total [1-9]/);
    expect(metrics).toMatch(/log_messages_total\{level="info"\} \d+/);
    expect(metrics).toMatch(/http_requests_in_flight \d/);
    expect(metrics).toMatch(/nodejs_eventloop_lag_seconds /);
  });

  it('keeps a valid request id, replaces an invalid one, and logs it in ECS', async () => {
    const kept = await call('/api/courses', { headers: { 'x-request-id': 'abc.DEF_1-2' } });
    expect(kept.headers.get('x-request-id')).toBe('abc.DEF_1-2');
    const replaced = await call('/api/courses', { headers: { 'x-request-id': 'bad id!' } });
    expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    await call('/api/courses', { headers: { 'x-request-id': 'log-me', authorization: 'Bearer secret-token', cookie: 'session=secret-cookie' } });
    const line = course.logs.lines.find((l) => l['http.request.id'] === 'log-me');
    expect(line).toMatchObject({
      'log.level': 'info',
      'service.name': 'course',
      'http.request.method': 'GET',
      'url.path': '/api/courses',
      'http.response.status_code': 200,
    });
    expect(line?.['@timestamp']).toEqual(expect.any(String));
    expect(line?.['event.duration']).toEqual(expect.any(Number));
    expect(JSON.stringify(course.logs.lines)).not.toMatch(/secret-token|secret-cookie/);
  });
});
