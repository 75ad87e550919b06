import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Course } from '../src/courseClient.js';
import { CourseServer } from './courseServer.js';
import { drivers, eventually, metricValue, post, readMetrics, startTeacher, type RunningTeacher } from './harness.js';

/** Short enough for a test to wait past; the production default is 10 s. */
const resetTimeoutMs = 500;

describe.each(drivers)('circuit breaker to the course service, on %s', (driver) => {
  let course: CourseServer;
  let teacher: RunningTeacher;
  const call = (path: string, init?: RequestInit) => teacher.call(path, init);
  let teacherId: string;
  let assignedCourse: Course;

  const breakerState = async () => metricValue(await readMetrics(teacher), 'circuit_breaker_state', { target: 'course' });
  const outboundRequests = async () => {
    const metrics = await readMetrics(teacher);
    return ['200', '404', 'error'].reduce((sum, status_code) => sum + (metricValue(metrics, 'http_client_requests_total', { target: 'course', status_code }) ?? 0), 0);
  };
  const listCourses = async () => (await call(`/api/teachers/${teacherId}/courses`)).json();
  const assignNewCourse = async () => call(`/api/teachers/${teacherId}/courses`, post({ courseId: (await course.createCourse('Later')).id }));

  /** Stops the course service and sends requests until the breaker opens. */
  const tripBreaker = async () => {
    await course.stop();
    for (let i = 0; i < 20 && (await breakerState()) !== 2; i++) {
      expect((await call(`/api/teachers/${teacherId}/courses`, post({ courseId: randomUUID() }))).status).toBe(503);
    }
    expect(await breakerState()).toBe(2);
  };

  beforeAll(async () => {
    course = await CourseServer.start(driver);
    teacher = await startTeacher(driver, course.url, {
      courseServiceTimeoutMs: 400,
      courseBreaker: { volumeThreshold: 3, errorThresholdPercentage: 50, resetTimeoutMs, rollingWindowMs: 10_000 },
    });
    teacherId = (await (await call('/api/teachers', post({ name: 'Breaker', email: `breaker-${driver}@school.example` }))).json()).id;
    assignedCourse = await course.createCourse('Assigned');
    expect((await call(`/api/teachers/${teacherId}/courses`, post({ courseId: assignedCourse.id }))).status).toBe(201);
  });
  afterAll(async () => {
    await teacher?.stop();
    await course?.close();
  });

  it('does not count "course not found" answers as failures', async () => {
    for (let i = 0; i < 8; i++) expect((await call(`/api/teachers/${teacherId}/courses`, post({ courseId: randomUUID() }))).status).toBe(422);
    expect(await breakerState()).toBe(0);
  });

  it('opens after repeated failures, then answers at once without calling the course service', async () => {
    await tripBreaker();
    expect(teacher.logs.lines.some((l) => l['log.level'] === 'warn' && /circuit breaker .* opened/.test(String(l.message)))).toBe(true);

    const calls = await outboundRequests();
    const start = performance.now();
    expect(await listCourses()).toMatchObject({ degraded: true, items: [{ courseId: assignedCourse.id, course: null }] });
    const refused = await call(`/api/teachers/${teacherId}/courses`, post({ courseId: randomUUID() }));
    expect(refused.status).toBe(503);
    expect((await refused.json()).error.code).toBe('dependency_unavailable');
    // Without the breaker, refused connections and two backoffs would take 200 ms per request.
    expect(performance.now() - start).toBeLessThan(300);
    expect(await outboundRequests()).toBe(calls);
  });

  it('turns half-open after the reset timeout and opens again when the trial call fails', async () => {
    await eventually(async () => expect(await breakerState()).toBe(1), resetTimeoutMs * 4);
    expect((await listCourses()).degraded).toBe(true);
    expect(await breakerState()).toBe(2);
  });

  it.each([
    ['the course list', async () => expect((await listCourses()).degraded).toBe(false)],
    ['an assignment', async () => expect((await assignNewCourse()).status).toBe(201)],
  ])('closes on its own once the course service is back, first asked for %s', async (_name, succeeds) => {
    if ((await breakerState()) !== 2) await tripBreaker();
    await course.restart();
    await eventually(succeeds, resetTimeoutMs * 6);
    expect(await breakerState()).toBe(0);
    expect(await listCourses()).toMatchObject({ degraded: false, items: expect.arrayContaining([{ courseId: assignedCourse.id, course: assignedCourse }]) });
    expect((await assignNewCourse()).status).toBe(201);
    await course.stop();
  });
});
