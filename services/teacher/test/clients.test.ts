import { createCourseService } from '../../course/src/service.js';
import type { BuiltService } from '@courseops/kit';
import { startOnLoopback, type RunningService } from '@courseops/kit/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { drivers, post, startTeacher, type RunningTeacher } from './harness.js';

/**
 * API.md "limits": a call the teacher service makes to the course service on behalf of a user counts against
 * that user, never against a bucket all users share. The teacher forwards the user's address as
 * X-Forwarded-For; the course service believes it because the teacher (here on loopback) is in its TRUSTED_PROXIES.
 */
const loopback = ['127.0.0.1/32', '::1/128'];
const courseLimit = 4;
const userA = '203.0.113.10';
const userB = '198.51.100.10';
const asUser = (address: string) => ({ 'x-forwarded-for': address });

describe.each(drivers)('users behind the teacher service, on %s', (driver) => {
  let course: RunningService<BuiltService> | undefined;
  let teacher: RunningTeacher | undefined;
  afterEach(async () => {
    await teacher?.stop();
    await course?.stop();
    teacher = course = undefined;
  });

  /** Course (trusting `courseTrusts`, limited to `rateLimitPerMinute` calls per client) and teacher (trusting loopback), with data. */
  async function start(courseTrusts: string[], rateLimitPerMinute: number) {
    course = await startOnLoopback(driver, 'teacher_clients_course', createCourseService, { rateLimitPerMinute, trustedProxies: courseTrusts });
    teacher = await startTeacher(driver, course.url, { trustedProxies: loopback });
    // Set-up calls come from addresses of their own, so they spend nobody's share (where forwarding is believed).
    const createCourse = async (i: number): Promise<string> => {
      const res = await course!.call('/api/courses', post({ title: `Course ${i}` }, asUser(`192.0.2.${100 + i}`)));
      expect(res.status).toBe(201);
      return (await res.json()).id;
    };
    const createTeacher = async (name: string): Promise<string> =>
      (await teacher!.call('/api/teachers', post({ name, email: `${name.toLowerCase()}-${driver}@school.example` }))).json().then((t) => t.id);
    const coursesOfA = [];
    for (let i = 0; i < courseLimit; i++) coursesOfA.push(await createCourse(i));
    return { coursesOfA, courseOfB: await createCourse(courseLimit), teacherA: await createTeacher('Ada'), teacherB: await createTeacher('Bea') };
  }

  /** User A assigns courses until the course service has counted `courseLimit` calls for them; the next is refused. */
  async function userAExhaustsTheirShare(teacherA: string, coursesOfA: string[]) {
    for (const courseId of coursesOfA) {
      expect((await teacher!.call(`/api/teachers/${teacherA}/courses`, post({ courseId }, asUser(userA)))).status).toBe(201);
    }
    const listed = await teacher!.call(`/api/teachers/${teacherA}/courses`, { headers: asUser(userA) });
    expect(listed.status).toBe(200);
    expect((await listed.json()).degraded).toBe(true);
  }

  it('counts each user’s calls against that user, so one user spending their share leaves the other served', async () => {
    const { coursesOfA, courseOfB, teacherA, teacherB } = await start(loopback, courseLimit);
    await userAExhaustsTheirShare(teacherA, coursesOfA);

    const assigned = await teacher!.call(`/api/teachers/${teacherB}/courses`, post({ courseId: courseOfB }, asUser(userB)));
    expect(assigned.status).toBe(201);
    const listed = await teacher!.call(`/api/teachers/${teacherB}/courses`, { headers: asUser(userB) });
    expect(listed.status).toBe(200);
    expect(await listed.json()).toMatchObject({ items: [{ courseId: courseOfB, course: { id: courseOfB } }], degraded: false });

    // The course service saw the users, not the teacher service.
    const courseClients = new Set(course!.logs.lines.filter((l) => String(l['url.path']).startsWith('/api/courses') && l['http.request.method'] === 'GET').map((l) => l['client.ip']));
    expect(courseClients).toEqual(new Set([userA, userB]));
  });

  it('keeps one user’s refusals out of the circuit breaker, so they cannot open it for everyone', async () => {
    const { coursesOfA, courseOfB, teacherA, teacherB } = await start(loopback, courseLimit);
    await userAExhaustsTheirShare(teacherA, coursesOfA);
    // More refused calls than the breaker's volume threshold (10), every one of them a 429 at the course service.
    for (let i = 0; i < 12; i++) {
      const listed = await teacher!.call(`/api/teachers/${teacherA}/courses`, { headers: asUser(userA) });
      expect((await listed.json()).degraded).toBe(true);
    }
    const refused = await teacher!.call(`/api/teachers/${teacherA}/courses`, post({ courseId: courseOfB }, asUser(userA)));
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
    expect((await refused.json()).error.code).toBe('rate_limited');

    const assigned = await teacher!.call(`/api/teachers/${teacherB}/courses`, post({ courseId: courseOfB }, asUser(userB)));
    expect(assigned.status).toBe(201);
    const metrics = await (await teacher!.call('/metrics')).text();
    expect(metrics).toMatch(/^circuit_breaker_state\{target="course"\} 0$/m);
  });

  it('(without forwarding believed, as before) puts every user in the teacher service’s one bucket', async () => {
    // All calls reaching the course service now count as the one client 127.0.0.1: the set-up's five course
    // creations too, so the limit leaves A the same share as above before the bucket is empty.
    const setUpCalls = courseLimit + 1;
    const { coursesOfA, courseOfB, teacherA, teacherB } = await start([], setUpCalls + courseLimit);
    await userAExhaustsTheirShare(teacherA, coursesOfA);

    const assigned = await teacher!.call(`/api/teachers/${teacherB}/courses`, post({ courseId: courseOfB }, asUser(userB)));
    // B is refused for A's calls: the course service's 429 to the one shared client reaches B.
    expect(assigned.status).toBe(429);
    expect((await assigned.json()).error.code).toBe('rate_limited');
  });
});
