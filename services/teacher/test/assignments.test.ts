import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Course } from '../src/courseClient.js';
import { CourseServer } from './courseServer.js';
import { drivers, post, startTeacher, storedRows, type RunningTeacher } from './harness.js';

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

describe.each(drivers)('course assignments on %s', (driver) => {
  let course: CourseServer;
  let teacher: RunningTeacher;
  const call = (path: string, init?: RequestInit) => teacher.call(path, init);
  let n = 0;
  const newTeacher = async (): Promise<{ id: string }> =>
    (await call('/api/teachers', post({ name: `T${++n}`, email: `assign${n}-${driver}@school.example` }))).json();

  beforeAll(async () => {
    course = await CourseServer.start(driver);
    teacher = await startTeacher(driver, course.url);
  });
  afterAll(async () => {
    await teacher?.stop();
    await course?.close();
  });

  it('assigns courses and lists them with their details from the course service', async () => {
    const t = await newTeacher();
    const assigned: { course: Course; assignedAt: string }[] = [];
    for (const title of ['Algebra', 'Biology', 'Chemistry']) {
      const c = await course.createCourse(title);
      const res = await call(`/api/teachers/${t.id}/courses`, post({ courseId: c.id }));
      expect(res.status).toBe(201);
      const body = await res.json();
      expect(body).toEqual({ teacherId: t.id, courseId: c.id, assignedAt: expect.any(String) });
      expect(new Date(body.assignedAt).toISOString()).toBe(body.assignedAt);
      assigned.push({ course: c, assignedAt: body.assignedAt });
    }
    // Listed by assignedAt, then courseId (two assignments may share a millisecond).
    const courses = assigned
      .sort((a, b) => byText(a.assignedAt, b.assignedAt) || byText(a.course.id, b.course.id))
      .map((a) => a.course);

    const list = await call(`/api/teachers/${t.id}/courses`);
    expect(list.status).toBe(200);
    expect(await list.json()).toEqual({
      items: courses.map((c) => ({ courseId: c.id, course: c })),
      total: 3,
      limit: 20,
      offset: 0,
      degraded: false,
    });
    const page = await (await call(`/api/teachers/${t.id}/courses?limit=1&offset=1`)).json();
    expect(page).toEqual({ items: [{ courseId: courses[1]!.id, course: courses[1] }], total: 3, limit: 1, offset: 1, degraded: false });
    expect((await call(`/api/teachers/${t.id}/courses?limit=101`)).status).toBe(400);
  });

  it('answers 409 for a course assigned twice and writes nothing', async () => {
    const t = await newTeacher();
    const c = await course.createCourse('Twice');
    expect((await call(`/api/teachers/${t.id}/courses`, post({ courseId: c.id }))).status).toBe(201);
    const before = await storedRows(teacher.service);
    const again = await call(`/api/teachers/${t.id}/courses`, post({ courseId: c.id }));
    expect(again.status).toBe(409);
    expect((await again.json()).error.code).toBe('conflict');
    expect(await storedRows(teacher.service)).toEqual(before);
  });

  it('answers 422 course_not_found for a course the course service does not know, and writes nothing', async () => {
    const t = await newTeacher();
    const before = await storedRows(teacher.service);
    const res = await call(`/api/teachers/${t.id}/courses`, post({ courseId: randomUUID() }));
    expect(res.status).toBe(422);
    expect((await res.json()).error.code).toBe('course_not_found');
    expect(await storedRows(teacher.service)).toEqual(before);
  });

  it('answers 404 for an unknown teacher and 400 for a bad course id or body', async () => {
    const c = await course.createCourse('Orphan');
    const unknown = randomUUID();
    for (const res of [await call(`/api/teachers/${unknown}/courses`, post({ courseId: c.id })), await call(`/api/teachers/${unknown}/courses`)]) {
      expect(res.status).toBe(404);
      expect((await res.json()).error.code).toBe('not_found');
    }
    const t = await newTeacher();
    for (const [body, path] of [[{ courseId: 'nope' }, 'body.courseId'], [{}, 'body.courseId'], [{ courseId: c.id, extra: 1 }, 'body']] as const) {
      const res = await call(`/api/teachers/${t.id}/courses`, post(body));
      expect(res.status).toBe(400);
      const { error } = await res.json();
      expect(error.code).toBe('validation_failed');
      expect(error.details.map((d: { path: string }) => d.path)).toContain(path);
    }
  });

  it('removes an assignment, then answers 404 for it', async () => {
    const t = await newTeacher();
    const c = await course.createCourse('Short-lived');
    await call(`/api/teachers/${t.id}/courses`, post({ courseId: c.id }));
    expect((await call(`/api/teachers/${t.id}/courses/${c.id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await (await call(`/api/teachers/${t.id}/courses`)).json()).items).toEqual([]);
    const again = await call(`/api/teachers/${t.id}/courses/${c.id}`, { method: 'DELETE' });
    expect(again.status).toBe(404);
    expect((await again.json()).error.code).toBe('not_found');
    expect((await call(`/api/teachers/${t.id}/courses/not-a-uuid`, { method: 'DELETE' })).status).toBe(400);
  });

  it('leaves out a course that was deleted in the course service', async () => {
    const t = await newTeacher();
    const kept = await course.createCourse('Kept');
    const deleted = await course.createCourse('Deleted');
    for (const c of [kept, deleted]) await call(`/api/teachers/${t.id}/courses`, post({ courseId: c.id }));
    await course.deleteCourse(deleted.id);
    const body = await (await call(`/api/teachers/${t.id}/courses`)).json();
    expect(body.items).toEqual([{ courseId: kept.id, course: kept }]);
    expect(body.degraded).toBe(false);
    // total counts assignments, so the offsets of later pages stay right.
    expect(body.total).toBe(2);
  });

  it('forwards the request id to the course service', async () => {
    const t = await newTeacher();
    const c = await course.createCourse('Traced');
    await call(`/api/teachers/${t.id}/courses`, post({ courseId: c.id }, { 'x-request-id': 'trace-assign-1' }));
    await call(`/api/teachers/${t.id}/courses`, { headers: { 'x-request-id': 'trace-list-1' } });
    for (const id of ['trace-assign-1', 'trace-list-1']) {
      const line = course.logs.lines.find((l) => l['http.request.id'] === id && l['url.path'] === `/api/courses/${c.id}`);
      expect(line, id).toMatchObject({ 'service.name': 'course', 'http.request.method': 'GET', 'http.response.status_code': 200 });
    }
  });
});
