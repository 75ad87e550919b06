import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CourseServer } from './courseServer.js';
import { drivers, metricValue, post, readMetrics, startTeacher, storedRows, type RunningTeacher } from './harness.js';

describe.each(drivers)('teacher API on %s', (driver) => {
  let course: CourseServer;
  let teacher: RunningTeacher;
  const call = (path: string, init?: RequestInit) => teacher.call(path, init);
  let emailCounter = 0;
  const uniqueEmail = () => `teacher${++emailCounter}-${driver}@school.example`;

  beforeAll(async () => {
    course = await CourseServer.start(driver);
    teacher = await startTeacher(driver, course.url);
  });
  afterAll(async () => {
    await teacher?.stop();
    await course?.close();
  });

  it('creates a teacher with a Location header, then reads it back', async () => {
    const email = uniqueEmail();
    const res = await call('/api/teachers', post({ name: 'Ada Lovelace', email }));
    expect(res.status).toBe(201);
    const body = await res.json();
    expect(body).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), name: 'Ada Lovelace', email, createdAt: expect.any(String), updatedAt: body.createdAt });
    expect(new Date(body.createdAt).toISOString()).toBe(body.createdAt);
    expect(res.headers.get('location')).toBe(`/api/teachers/${body.id}`);
    const fetched = await call(`/api/teachers/${body.id}`);
    expect(fetched.status).toBe(200);
    expect(await fetched.json()).toEqual(body);
  });

  it('refuses a second teacher with the same email in another case, and writes nothing', async () => {
    const email = uniqueEmail();
    expect((await call('/api/teachers', post({ name: 'First', email }))).status).toBe(201);
    const before = await storedRows(teacher.service);
    const res = await call('/api/teachers', post({ name: 'Second', email: email.toUpperCase() }, { 'x-request-id': 'dup-email' }));
    expect(res.status).toBe(409);
    expect((await res.json()).error).toMatchObject({ code: 'conflict', requestId: 'dup-email' });
    expect(await storedRows(teacher.service)).toEqual(before);
  });

  it('lists in creation order, one keyset page at a time, without a total', async () => {
    const names = ['a', 'b', 'c', 'd'].map((n) => `list-${n}`);
    for (const name of names) await call('/api/teachers', post({ name, email: uniqueEmail() }));
    const all: { name: string; createdAt: string; id: string }[] = [];
    for (let cursor = ''; ; ) {
      const page = await (await call(`/api/teachers?limit=2${cursor}`)).json();
      expect(Object.keys(page).sort()).toEqual(['items', 'nextCursor']);
      all.push(...page.items);
      if (page.nextCursor === null) break;
      cursor = `&cursor=${page.nextCursor}`;
    }
    expect(all.slice(-4).map((t) => t.name)).toEqual(names);
    const stored = (await storedRows(teacher.service)).teachers.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : 1));
    expect(all.map((t) => t.id)).toEqual(stored.map((t) => t.id));
    expect((await (await call('/api/teachers')).json()).items).toHaveLength(Math.min(20, all.length));
    for (const q of ['limit=0', 'limit=101', 'limit=x', 'limit=1&limit=2', 'cursor=x', 'cursor=a.b', 'cursor=a.b&cursor=a.b']) {
      const res = await call(`/api/teachers?${q}`);
      expect(res.status, q).toBe(400);
      expect((await res.json()).error.code).toBe('validation_failed');
    }
  });

  // A well-formed address of 264 characters: only the length is wrong.
  const longEmail = `${'a'.repeat(64)}@${['b', 'c', 'd'].map((c) => c.repeat(63)).join('.')}.example`;
  it.each([
    ['a missing name', { email: 'x@y.example' }, 'body.name'],
    ['a blank name', { name: '  ', email: 'x@y.example' }, 'body.name'],
    ['a name over 200 characters', { name: 'n'.repeat(201), email: 'x@y.example' }, 'body.name'],
    ['a NUL in the name', { name: 'a\u0000b', email: 'x@y.example' }, 'body.name'],
    ['a missing email', { name: 'n' }, 'body.email'],
    ['an email that is not one', { name: 'n', email: 'not-an-email' }, 'body.email'],
    ['an email over 254 characters', { name: 'n', email: longEmail }, 'body.email'],
    ['an unknown field', { name: 'n', email: 'x@y.example', role: 'admin' }, 'body'],
  ])('rejects %s with validation_failed and its path', async (_name, body, path) => {
    const res = await call('/api/teachers', post(body, { 'x-request-id': 'req-456' }));
    expect(res.status).toBe(400);
    const { error } = await res.json();
    expect(error).toMatchObject({ code: 'validation_failed', requestId: 'req-456' });
    expect(error.details.map((d: { path: string }) => d.path)).toContain(path);
  });

  it.each([
    ['invalid JSON', { 'content-type': 'application/json' }, '{"name":', 400, 'invalid_json'],
    ['a non-JSON body', { 'content-type': 'text/plain' }, 'name=x', 415, 'unsupported_media_type'],
    ['a body over 16 KiB', { 'content-type': 'application/json' }, JSON.stringify({ name: 'x'.repeat(17_000), email: 'x@y.example' }), 413, 'payload_too_large'],
  ])('answers %s with its error code', async (_name, headers, body, status, code) => {
    const res = await call('/api/teachers', { method: 'POST', headers, body });
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect((await res.json()).error.code).toBe(code);
  });

  it('answers 400 for a path id that is not a UUID and 404 for an unknown teacher or route', async () => {
    for (const path of ['/api/teachers/42', '/api/teachers/42/courses']) {
      expect((await (await call(path)).json()).error.code, path).toBe('validation_failed');
    }
    const unknown = '00000000-0000-4000-8000-000000000000';
    for (const [method, path] of [['GET', `/api/teachers/${unknown}`], ['DELETE', `/api/teachers/${unknown}`], ['PUT', `/api/teachers/${unknown}`], ['GET', '/nope']] as const) {
      const res = await call(path, { method });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect((await res.json()).error.code).toBe('not_found');
    }
  });

  it('deletes a teacher together with its course assignments', async () => {
    const created = await (await call('/api/teachers', post({ name: 'Leaving', email: uniqueEmail() }))).json();
    const courses = [await course.createCourse('Cascade 1'), await course.createCourse('Cascade 2')];
    for (const c of courses) expect((await call(`/api/teachers/${created.id}/courses`, post({ courseId: c.id }))).status).toBe(201);
    expect((await storedRows(teacher.service)).assignments.filter((a) => a.teacherId === created.id)).toHaveLength(2);

    expect((await call(`/api/teachers/${created.id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await call(`/api/teachers/${created.id}`)).status).toBe(404);
    expect((await call(`/api/teachers/${created.id}/courses`)).status).toBe(404);
    expect((await storedRows(teacher.service)).assignments.filter((a) => a.teacherId === created.id)).toEqual([]);
    expect((await call(`/api/teachers/${created.id}`, { method: 'DELETE' })).status).toBe(404);
  });

  it('serves health, and readiness with the course service as a soft check', async () => {
    expect(await (await call('/healthz')).json()).toEqual({ status: 'ok' });
    const ready = await call('/readyz');
    expect(ready.status).toBe(200);
    const body = await ready.json();
    expect(body.status).toBe('ready');
    expect(body.checks.database).toMatchObject({ status: 'up', latencyMs: expect.any(Number) });
    expect(body.checks.database.soft).toBeUndefined();
    expect(body.checks.course).toMatchObject({ status: 'up', soft: true, latencyMs: expect.any(Number) });
  });

  it('exposes the metrics of API.md with their labels', async () => {
    const t = await (await call('/api/teachers', post({ name: 'Metered', email: uniqueEmail() }))).json();
    const c = await course.createCourse('Metered course');
    await call(`/api/teachers/${t.id}/courses`, post({ courseId: c.id }));
    await call(`/api/teachers/${t.id}/courses`);
    const metrics = await readMetrics(teacher);

    expect(metricValue(metrics, 'http_requests_total', { method: 'POST', route: '/api/teachers', status_code: '201' })).toBeGreaterThan(0);
    expect(metricValue(metrics, 'http_requests_total', { method: 'GET', route: '/api/teachers/:id/courses', status_code: '200' })).toBeGreaterThan(0);
    expect(metricValue(metrics, 'http_requests_total', { method: 'POST', route: '/api/teachers/:id/courses', status_code: '201' })).toBeGreaterThan(0);
    expect(metricValue(metrics, 'http_request_duration_seconds_count', { method: 'GET', route: '/api/teachers/:id', status_code: '200' })).toBeGreaterThan(0);
    expect(metricValue(metrics, 'http_requests_in_flight')).toBeGreaterThanOrEqual(0);
    expect(metricValue(metrics, 'db_query_duration_seconds_count', { operation: 'insert_teacher' })).toBeGreaterThan(0);
    expect(metricValue(metrics, 'db_query_duration_seconds_count', { operation: 'insert_course_assignment' })).toBeGreaterThan(0);
    expect(metricValue(metrics, 'log_messages_total', { level: 'info' })).toBeGreaterThan(0);
    expect(metricValue(metrics, 'teachers_created_total')).toBeGreaterThan(0);
    expect(metricValue(metrics, 'teacher_course_assignments_total')).toBeGreaterThan(0);
    expect(metricValue(metrics, 'http_client_requests_total', { target: 'course', status_code: '200' })).toBeGreaterThanOrEqual(2);
    expect(metricValue(metrics, 'http_client_request_duration_seconds_count', { target: 'course' })).toBeGreaterThanOrEqual(2);
    expect(metricValue(metrics, 'http_client_request_duration_seconds_bucket', { target: 'course', le: '+Inf' })).toBeGreaterThanOrEqual(2);
    expect(metricValue(metrics, 'circuit_breaker_state', { target: 'course' })).toBe(0);
    expect(metricValue(metrics, 'nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
    // No label carries an id or a raw path.
    expect(metrics).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/);
  });
});
