import { randomUUID } from 'node:crypto';
import { checkErrorContract, type RouteTemplate } from '@courseops/kit/testing';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CourseServer } from './courseServer.js';
import { drivers, post, startTeacher, type RunningTeacher } from './harness.js';

/**
 * Property tests of the teacher service on both drivers, with the course service up: malformed requests
 * of every kind to every endpoint never get a 5xx (so never a 503 either) or a non-JSON error, and a
 * rejected request never changes the stored teachers or assignments.
 */

const sampleTeacher = { name: 'Grace Hopper', email: 'grace@navy.example' };

/** The routes, with a valid assignment body naming a course that exists (known only once it is created). */
const routesFor = (courseId: string): RouteTemplate[] => [
  { method: 'GET', path: '/api/teachers' },
  { method: 'GET', path: '/api/teachers/:id' },
  { method: 'POST', path: '/api/teachers', body: sampleTeacher },
  { method: 'DELETE', path: '/api/teachers/:id' },
  { method: 'GET', path: '/api/teachers/:id/courses' },
  { method: 'POST', path: '/api/teachers/:id/courses', body: { courseId } },
  { method: 'DELETE', path: '/api/teachers/:id/courses/:courseId' },
  { method: 'GET', path: '/readyz' },
  // No PUT in this service, and paths no route claims.
  { method: 'PUT', path: '/api/teachers/:id', body: sampleTeacher },
  { method: 'GET', path: '/api/:id' },
];
const routeNames = routesFor('').map((r) => `${r.method} ${r.path}`);

describe.each(drivers)('teacher service properties on %s', (driver) => {
  let course: CourseServer;
  let teacher: RunningTeacher;
  let courseIds: string[];
  let routes: RouteTemplate[];
  let seeded = 0;

  const sql = async <T>(text: string, params: unknown[] = []): Promise<T[]> =>
    ((await teacher.service.database.db.$client.query(text, params)) as { rows: T[] }).rows;

  /** Row counts and a checksum of every column of every row of both tables. */
  const snapshot = async () => {
    const [state] = await sql<Record<string, string | number>>(
      `select (select count(*)::int from teachers) as teachers,
              (select coalesce(md5(string_agg(t::text, '|' order by t.id)), '') from teachers t) as teachers_checksum,
              (select count(*)::int from course_assignments) as assignments,
              (select coalesce(md5(string_agg(a::text, '|' order by a.teacher_id, a.course_id)), '') from course_assignments a) as assignments_checksum`,
    );
    return state;
  };

  /** A teacher with the first course assigned, so fuzzed requests reach real rows on every route. */
  const seedTeacher = async () => {
    const res = await teacher.call('/api/teachers', post({ name: `seed ${++seeded}`, email: `seed${seeded}@school.example` }));
    expect(res.status).toBe(201);
    const { id } = await res.json();
    expect((await teacher.call(`/api/teachers/${id}/courses`, post({ courseId: courseIds[0] }))).status).toBe(201);
  };

  /** Existing teacher and course ids for the fuzzer's path ids; topped up when fuzzed DELETEs used teachers up. */
  const ids = async () => {
    let rows = await sql<{ id: string }>('select id from teachers order by created_at, id');
    if (rows.length < 3) {
      for (let i = rows.length; i < 3; i++) await seedTeacher();
      rows = await sql<{ id: string }>('select id from teachers order by created_at, id');
    }
    return [...rows.map((r) => r.id), ...courseIds];
  };

  beforeAll(async () => {
    course = await CourseServer.start(driver);
    teacher = await startTeacher(driver, course.url);
    expect(teacher.service.database.kind).toBe(driver);
    courseIds = [(await course.createCourse('Fuzzed 1')).id, (await course.createCourse('Fuzzed 2')).id];
    routes = routesFor(courseIds[1]!);
    await ids();
  });
  afterAll(async () => {
    await teacher?.stop();
    await course?.close();
  });

  it.each(routeNames)('answers malformed requests to %s without a 5xx, with JSON errors, and leaves the data unchanged', async (name) => {
    const route = routes.find((r) => `${r.method} ${r.path}` === name)!;
    const statuses = await checkErrorContract({ baseUrl: () => teacher.url, routes: [route], ids, snapshot });
    // The fuzzer reached past the front door: more than one kind of answer came back.
    expect(statuses.size, JSON.stringify([...statuses])).toBeGreaterThan(1);
  });

  it('answers well-formed assignment requests as a model of teachers, courses and assignments predicts', async () => {
    const gone = await course.createCourse('Deleted later');
    await course.deleteCourse(gone.id);
    const courses = { live: courseIds, gone: [gone.id, randomUUID()] };
    const assignments = async () => sql<{ teacher_id: string; course_id: string }>('select teacher_id, course_id from course_assignments');
    const key = (teacherId: string, courseId: string) => `${teacherId} ${courseId}`;

    const request = fc.record({
      op: fc.constantFrom('assign', 'unassign', 'list'),
      teacher: fc.oneof(fc.nat().map((i) => ({ existing: i })), fc.constant({ existing: undefined })),
      course: fc.oneof(fc.constantFrom(...courses.live), fc.constantFrom(...courses.gone)),
    });
    await fc.assert(
      fc.asyncProperty(request, async ({ op, teacher: pick, course: courseId }) => {
        const teacherIds = (await ids()).filter((id) => !courseIds.includes(id));
        const teacherId = pick.existing === undefined ? randomUUID() : teacherIds[pick.existing % teacherIds.length]!;
        const before = new Set((await assignments()).map((a) => key(a.teacher_id, a.course_id)));
        const teacherExists = teacherIds.includes(teacherId);
        const assigned = before.has(key(teacherId, courseId));
        const after = new Set(before);

        if (op === 'list') {
          const res = await teacher.call(`/api/teachers/${teacherId}/courses?limit=100`);
          expect(res.status).toBe(teacherExists ? 200 : 404);
          if (teacherExists) {
            const body = await res.json();
            const live = [...before].filter((k) => k.startsWith(`${teacherId} `) && courses.live.includes(k.split(' ')[1]!));
            expect(body.degraded).toBe(false);
            expect(body.items.map((i: { courseId: string }) => key(teacherId, i.courseId)).sort()).toEqual(live.sort());
          }
        } else if (op === 'assign') {
          const res = await teacher.call(`/api/teachers/${teacherId}/courses`, post({ courseId }));
          const expected = !teacherExists ? 404 : !courses.live.includes(courseId) ? 422 : assigned ? 409 : 201;
          expect(res.status).toBe(expected);
          if (expected === 201) after.add(key(teacherId, courseId));
        } else {
          const res = await teacher.call(`/api/teachers/${teacherId}/courses/${courseId}`, { method: 'DELETE' });
          expect(res.status).toBe(assigned ? 204 : 404);
          after.delete(key(teacherId, courseId));
        }
        expect(new Set((await assignments()).map((a) => key(a.teacher_id, a.course_id)))).toEqual(after);
      }),
      { numRuns: 100 },
    );
  });

  it('detects a rejected request that changes state (the snapshot is not blind)', async () => {
    // Fuzzed and modelled deletes may have removed every assignment: make sure there is one to change.
    await seedTeacher();
    const before = await snapshot();
    await sql(`update course_assignments set assigned_at = assigned_at + interval '1 millisecond' where course_id = $1`, [courseIds[0]]);
    expect(await snapshot()).not.toEqual(before);
  });
});
