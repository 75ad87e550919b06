import { bodyValidator, openApiErrors, parameterValidator, responseValidator, testFetch } from '@courseops/kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CourseServer } from './courseServer.js';
import { drivers, post, startTeacher, type RunningTeacher } from './harness.js';

describe.each(drivers)('teacher /openapi.json on %s', (driver) => {
  let courses: CourseServer;
  let teacher: RunningTeacher;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let document: any;
  const call = (path: string, init: RequestInit = {}) => testFetch(`${teacher.url}${path}`, init);
  let emails = 0;

  beforeAll(async () => {
    courses = await CourseServer.start(driver);
    teacher = await startTeacher(driver, courses.url);
    const res = await call('/openapi.json');
    expect(res.status).toBe(200);
    document = await res.json();
  });
  afterAll(async () => {
    await teacher.stop();
    await courses.close();
  });

  it('is a valid OpenAPI 3.1 document of every route, with links from a created teacher', async () => {
    expect(await openApiErrors(document)).toEqual({ version: '3.1', errors: undefined });
    expect(Object.keys(document.paths).sort()).toEqual([
      '/api/teachers',
      '/api/teachers/{id}',
      '/api/teachers/{id}/courses',
      '/api/teachers/{id}/courses/{courseId}',
      '/healthz',
      '/metrics',
      '/readyz',
    ]);
    expect(Object.keys(document.paths['/api/teachers'].post.responses['201'].links).sort()).toEqual([
      'AssignCourse',
      'DeleteTeacher',
      'GetTeacher',
      'ListTeacherCourses',
    ]);
    expect(document.paths['/api/teachers/{id}/courses'].post.responses['201'].links.UnassignCourse.parameters).toEqual({
      id: '$response.body#/teacherId',
      courseId: '$response.body#/courseId',
    });
  });

  it.each([
    ['a valid teacher', (n: number) => ({ name: 'Ada', email: `ada${n}@school.example` })],
    ['an address that is not one', () => ({ name: 'Ada', email: 'not-an-email' })],
    ['an address without a top-level domain', () => ({ name: 'Ada', email: 'ada@localhost' })],
    ['an address of 254 characters', (n: number) => ({ name: 'Ada', email: `${n}${'a'.repeat(60)}@${'b'.repeat(180)}.example`.slice(-254) })],
    ['an address of 255 characters', (n: number) => ({ name: 'Ada', email: `${n}${'a'.repeat(61)}@${'b'.repeat(180)}.example`.slice(-255) })],
    ['a blank name', (n: number) => ({ name: '\t ', email: `blank${n}@school.example` })],
    ['a name with NUL', (n: number) => ({ name: 'A\u0000', email: `nul${n}@school.example` })],
    ['an unknown field', (n: number) => ({ name: 'Ada', email: `x${n}@school.example`, role: 'admin' })],
  ])('answers 201 to %s exactly when the document accepts it, else 400', async (_name, make) => {
    const body = make(++emails);
    const accepts = bodyValidator(document, '/api/teachers', 'post');
    const res = await call('/api/teachers', post(body));
    expect(res.status).toBe(accepts(body) ? 201 : 400);
  });

  it('agrees with the document on `limit`, and describes the answers the service gives', async () => {
    const limitOk = parameterValidator(document, '/api/teachers', 'get', 'limit');
    for (const limit of ['0', '1', '100', '101', 'x']) {
      expect((await call(`/api/teachers?limit=${limit}`)).status, limit).toBe(limitOk(limit) ? 200 : 400);
    }
    const created = await (await call('/api/teachers', post({ name: 'Grace', email: 'grace@school.example' }))).json();
    expect(responseValidator(document, '/api/teachers', 'post', 201)(created)).toBe(true);
    expect(responseValidator(document, '/api/teachers', 'get', 200)(await (await call('/api/teachers')).json())).toBe(true);

    const course = await courses.createCourse('Algebra');
    const assigned = await call(`/api/teachers/${created.id}/courses`, post({ courseId: course.id }));
    expect(assigned.status).toBe(201);
    expect(responseValidator(document, '/api/teachers/{id}/courses', 'post', 201)(await assigned.json())).toBe(true);
    const page = await (await call(`/api/teachers/${created.id}/courses`)).json();
    expect(page.items).toHaveLength(1);
    expect(responseValidator(document, '/api/teachers/{id}/courses', 'get', 200)(page)).toBe(true);
    const unknown = await call(`/api/teachers/${created.id}/courses`, post({ courseId: '5a0e7f4e-8a4f-4b7e-9c39-2d2f8e1e0b11' }));
    expect(unknown.status).toBe(422);
    expect(responseValidator(document, '/api/teachers/{id}/courses', 'post', 422)(await unknown.json())).toBe(true);
  });
});
