import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Course } from '../src/courseClient.js';
import { CourseServer } from './courseServer.js';
import { drivers, metricValue, post, readMetrics, startTeacher, storedRows, type RunningTeacher } from './harness.js';

/** COURSE_SERVICE_TIMEOUT_MS in this file, and what an answer may take beyond it (database, HTTP, scheduling). */
const timeoutMs = 400;
const marginMs = 250;

/** Runs a request and measures how long the answer took. */
async function timed<T>(run: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const result = await run();
  return [result, performance.now() - start];
}

describe.each(drivers)('teacher service when the course service fails, on %s', (driver) => {
  let course: CourseServer;
  let teacher: RunningTeacher;
  const call = (path: string, init?: RequestInit) => teacher.call(path, init);
  let teacherId: string;
  let assigned: Course[];
  let unassigned: Course;

  beforeAll(async () => {
    course = await CourseServer.start(driver);
    // The breaker never opens here (its own tests are in breaker.test.ts): every request meets the failure itself.
    teacher = await startTeacher(driver, course.url, { courseServiceTimeoutMs: timeoutMs, courseBreaker: { volumeThreshold: 1_000_000 } });
    teacherId = (await (await call('/api/teachers', post({ name: 'Resilient', email: `resilient-${driver}@school.example` }))).json()).id;
    assigned = [await course.createCourse('Kept 1'), await course.createCourse('Kept 2')];
    unassigned = await course.createCourse('Not yet');
    for (const c of assigned) expect((await call(`/api/teachers/${teacherId}/courses`, post({ courseId: c.id }))).status).toBe(201);
  });
  afterAll(async () => {
    await teacher?.stop();
    await course?.close();
  });

  const expectDegradedList = async () => {
    const [res, elapsed] = await timed(() => call(`/api/teachers/${teacherId}/courses`));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ items: assigned.map((c) => ({ courseId: c.id, course: null })), nextCursor: null, degraded: true });
    expect(elapsed).toBeLessThan(timeoutMs + marginMs);
    return elapsed;
  };

  const expectAssignRefused = async () => {
    const before = await storedRows(teacher.service);
    const [res, elapsed] = await timed(() => call(`/api/teachers/${teacherId}/courses`, post({ courseId: unassigned.id })));
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect((await res.json()).error.code).toBe('dependency_unavailable');
    expect(elapsed).toBeLessThan(timeoutMs + marginMs);
    expect(await storedRows(teacher.service)).toEqual(before);
  };

  const expectReadyWithCourseDown = async () => {
    const res = await call('/readyz');
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.status).toBe('ready');
    expect(body.checks.database.status).toBe('up');
    expect(body.checks.course).toMatchObject({ status: 'down', soft: true, error: expect.any(String) });
  };

  it('answers a degraded list, refuses assignments and stays ready while the course service is stopped', async () => {
    await course.stop();
    await expectDegradedList();
    // Paging goes on while degraded: the cursor comes from the assignments.
    const first = await (await call(`/api/teachers/${teacherId}/courses?limit=1`)).json();
    expect(first).toEqual({ items: [{ courseId: assigned[0]!.id, course: null }], nextCursor: expect.any(String), degraded: true });
    const second = await (await call(`/api/teachers/${teacherId}/courses?limit=1&cursor=${first.nextCursor}`)).json();
    expect(second).toEqual({ items: [{ courseId: assigned[1]!.id, course: null }], nextCursor: null, degraded: true });
    await expectAssignRefused();
    await expectReadyWithCourseDown();
  });

  it('retries a failed read a bounded number of times, counting each attempt as an error', async () => {
    const errors = async () => metricValue(await readMetrics(teacher), 'http_client_requests_total', { target: 'course', status_code: 'error' }) ?? 0;
    const before = await errors();
    await call(`/api/teachers/${teacherId}/courses`, post({ courseId: unassigned.id }));
    // One try and two retries (the default), all refused.
    expect((await errors()) - before).toBe(3);
  });

  it('gives up on a course service that never answers within the timeout', async () => {
    await course.hang();
    const elapsed = await expectDegradedList();
    // It did wait for the hanging server, rather than failing at once.
    expect(elapsed).toBeGreaterThanOrEqual(timeoutMs - 20);
    await expectAssignRefused();
    await expectReadyWithCourseDown();
  });

  it('serves course details and assignments again once the course service is back', async () => {
    await course.restart();
    const body = await (await call(`/api/teachers/${teacherId}/courses`)).json();
    expect(body).toMatchObject({ degraded: false, items: assigned.map((c) => ({ courseId: c.id, course: c })) });
    expect((await call(`/api/teachers/${teacherId}/courses`, post({ courseId: unassigned.id }))).status).toBe(201);
    expect((await (await call('/readyz')).json()).checks.course.status).toBe('up');
  });
});
