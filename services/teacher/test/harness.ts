import { jsonRequest as json, startOnLoopback, type Driver, type RunningService } from '@courseops/kit/testing';
import { asc } from 'drizzle-orm';
import { courseAssignments, teachers } from '../src/schema.js';
import { createTeacherService, type TeacherService, type TeacherSettings } from '../src/service.js';

export { drivers, jsonRequest as json, type Driver } from '@courseops/kit/testing';

export type RunningTeacher = RunningService<TeacherService>;

/** A teacher service on a loopback port, on embedded PGlite or a fresh database of the test PostgreSQL server. */
export const startTeacher = (driver: Driver, courseServiceUrl: string, settings: Partial<TeacherSettings> = {}): Promise<RunningTeacher> =>
  startOnLoopback(driver, 'teacher', (common) =>
    createTeacherService({ courseServiceUrl, courseServiceTimeoutMs: 2000, ...common, ...settings, databaseUrl: common.databaseUrl }),
  );

export const post = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({ method: 'POST', ...json(body, headers) });

/** Everything the teacher service stores, in a stable order: to compare before and after a request. */
export async function storedRows(service: TeacherService) {
  const { db } = service.database;
  return {
    teachers: await db.select().from(teachers).orderBy(asc(teachers.id)),
    assignments: await db.select().from(courseAssignments).orderBy(asc(courseAssignments.teacherId), asc(courseAssignments.courseId)),
  };
}

/** One sample of a Prometheus text exposition, found by name and (a subset of) its labels. */
export function metricValue(exposition: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of exposition.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(match[3]);
  }
  return undefined;
}

export async function readMetrics(teacher: RunningTeacher): Promise<string> {
  return (await teacher.call('/metrics')).text();
}

/** Polls until `check` passes or `timeoutMs` runs out (then fails with its last error). */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 5000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, everyMs));
    }
  }
}
