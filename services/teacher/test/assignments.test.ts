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
    expect(await list.json()).toEqual({ items: courses.map((c) => ({ courseId: c.id, course: c })), nextCursor: null, degraded: false });
    const first = await (await call(`/api/teachers/${t.id}/courses?limit=1`)).json();
    expect(first).toEqual({ items: [{ courseId: courses[0]!.id, course: courses[0] }], nextCursor: expect.any(String), degraded: false });
    const second = await (await call(`/api/teachers/${t.id}/courses?limit=1&cursor=${first.nextCursor}`)).json();
    expect(second).toEqual({ items: [{ courseId: courses[1]!.id, course: courses[1] }], nextCursor: expect.any(String), degraded: false });
    const last = await (await call(`/api/teachers/${t.id}/courses?limit=2&cursor=${first.nextCursor}`)).json();
    expect(last).toEqual({ items: courses.slice(1).map((c) => ({ courseId: c.id, course: c })), nextCursor: null, degraded: false });
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
    expect(body).toEqual({ items: [{ courseId: kept.id, course: kept }], nextCursor: null, degraded: false });
  });

  it('pages past a deleted course: the cursor follows the assignments, not what the course service answers', async () => {
    const t = await newTeacher();
    const assigned: Course[] = [];
    for (const title of ['P1', 'P2', 'P3', 'P4']) {
      const c = await course.createCourse(title);
      expect((await call(`/api/teachers/${t.id}/courses`, post({ courseId: c.id }))).status).toBe(201);
      assigned.push(c);
    }
    const order = (await (await call(`/api/teachers/${t.id}/courses`)).json()).items.map((i: { courseId: string }) => i.courseId) as string[];
    // The second assignment's course goes away: page one (two rows) shows one course, page two the rest.
    await course.deleteCourse(order[1]!);
    const byId = new Map(assigned.map((c) => [c.id, c]));
    const first = await (await call(`/api/teachers/${t.id}/courses?limit=2`)).json();
    expect(first).toEqual({ items: [{ courseId: order[0], course: byId.get(order[0]!) }], nextCursor: expect.any(String), degraded: false });
    const second = await (await call(`/api/teachers/${t.id}/courses?limit=2&cursor=${first.nextCursor}`)).json();
    expect(second).toEqual({ items: order.slice(2).map((id) => ({ courseId: id, course: byId.get(id) })), nextCursor: null, degraded: false });
  });

  it('asks the course service exactly once per page, for that page\'s courses only', async () => {
    const t = await newTeacher();
    const ids: string[] = [];
    for (let i = 0; i < 25; i++) {
      const c = await course.createCourse(`Batch ${i}`);
      expect((await call(`/api/teachers/${t.id}/courses`, post({ courseId: c.id }))).status).toBe(201);
      ids.push(c.id);
    }
    const listed: string[] = [];
    let cursor: string | null = '';
    for (let page = 0; cursor !== null; page++) {
      const requestId = `batch-page-${driver}-${page}`;
      const res = await call(`/api/teachers/${t.id}/courses?limit=10${cursor ? `&cursor=${cursor}` : ''}`, { headers: { 'x-request-id': requestId } });
      const body = await res.json();
      expect(body.degraded).toBe(false);
      expect(body.items.every((i: { course: Course | null }) => i.course !== null)).toBe(true);
      listed.push(...body.items.map((i: { courseId: string }) => i.courseId));
      expect(course.requestsFor(requestId), requestId).toEqual(['GET /api/courses']);
      cursor = body.nextCursor;
    }
    expect(listed.sort()).toEqual([...ids].sort());
    // An empty page needs no course details at all.
    const empty = await newTeacher();
    await call(`/api/teachers/${empty.id}/courses`, { headers: { 'x-request-id': `batch-empty-${driver}` } });
    expect(course.requestsFor(`batch-empty-${driver}`)).toEqual([]);
  });

  it('lists every assignment exactly once, in order, while more are made during the walk', async () => {
    const t = await newTeacher();
    const pool = await Promise.all(Array.from({ length: 30 }, (_, i) => course.createCourse(`Walk ${i}`)));
    const before = pool.slice(0, 12);
    for (const c of before) expect((await call(`/api/teachers/${t.id}/courses`, post({ courseId: c.id }))).status).toBe(201);
    const later = pool.slice(12);
    const listed: string[] = [];
    let cursor: string | null = '';
    while (cursor !== null) {
      // An assignment is made while the page is read.
      const assigning = later.length > 0 ? call(`/api/teachers/${t.id}/courses`, post({ courseId: later.shift()!.id })) : undefined;
      const body = await (await call(`/api/teachers/${t.id}/courses?limit=3${cursor ? `&cursor=${cursor}` : ''}`)).json();
      expect((await assigning)?.status ?? 201).toBe(201);
      listed.push(...body.items.map((i: { courseId: string }) => i.courseId));
      cursor = body.nextCursor;
    }
    expect(new Set(listed).size).toBe(listed.length);
    expect(listed).toEqual(expect.arrayContaining(before.map((c) => c.id)));
    const stored = (await storedRows(teacher.service)).assignments
      .filter((a) => a.teacherId === t.id)
      .sort((a, b) => a.assignedAt.getTime() - b.assignedAt.getTime() || byText(a.courseId, b.courseId))
      .map((a) => a.courseId);
    // In the list's order: the stored order restricted to what was listed.
    expect(listed).toEqual(stored.filter((id) => listed.includes(id)));
  });

  it("refuses a tampered cursor, another teacher's cursor and a course-list cursor with 400 at query.cursor", async () => {
    const [a, b] = [await newTeacher(), await newTeacher()];
    for (const t of [a, b]) {
      for (const title of ['C1', 'C2']) await call(`/api/teachers/${t.id}/courses`, post({ courseId: (await course.createCourse(title)).id }));
    }
    const ofA = (await (await call(`/api/teachers/${a.id}/courses?limit=1`)).json()).nextCursor as string;
    const courseCursor = ((await (await fetch(`${course.url}/api/courses?limit=1`)).json()) as { nextCursor: string }).nextCursor;
    const teacherCursor = (await (await call('/api/teachers?limit=1')).json()).nextCursor as string;
    expect((await call(`/api/teachers/${a.id}/courses?limit=1&cursor=${ofA}`)).status).toBe(200);
    for (const [name, cursor] of [
      ['tampered', `${ofA.slice(0, 6)}${ofA[6] === 'x' ? 'y' : 'x'}${ofA.slice(7)}`],
      ["another teacher's", ofA],
      ['a course-list', courseCursor],
      ['a teacher-list', teacherCursor],
    ] as const) {
      const res = await call(`/api/teachers/${name === 'tampered' ? a.id : b.id}/courses?limit=1&cursor=${cursor}`);
      expect(res.status, name).toBe(400);
      const { error } = await res.json();
      expect(error.code).toBe('validation_failed');
      expect(error.details.map((d: { path: string }) => d.path)).toContain('query.cursor');
    }
  });

  it('forwards the request id to the course service', async () => {
    const t = await newTeacher();
    const c = await course.createCourse('Traced');
    await call(`/api/teachers/${t.id}/courses`, post({ courseId: c.id }, { 'x-request-id': 'trace-assign-1' }));
    await call(`/api/teachers/${t.id}/courses`, { headers: { 'x-request-id': 'trace-list-1' } });
    for (const [id, path] of [['trace-assign-1', `/api/courses/${c.id}`], ['trace-list-1', '/api/courses']]) {
      const line = course.logs.lines.find((l) => l['http.request.id'] === id && l['url.path'] === path);
      expect(line, id).toMatchObject({ 'service.name': 'course', 'http.request.method': 'GET', 'http.response.status_code': 200 });
    }
  });
});
