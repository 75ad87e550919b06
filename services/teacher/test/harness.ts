import { memoryLogStream } from '@courseops/kit';
import { createTestDatabase, serveOnLoopback, testFetch, type RunningApp, type TestResponse } from '@courseops/kit/testing';
import { asc } from 'drizzle-orm';
import { inject } from 'vitest';
import { courseAssignments, teachers } from '../src/schema.js';
import { createTeacherService, type TeacherService, type TeacherSettings } from '../src/service.js';

export type Driver = 'pglite' | 'postgres';
export const drivers: Driver[] = ['pglite', 'postgres'];

export interface RunningTeacher extends RunningApp {
  service: TeacherService;
  logs: ReturnType<typeof memoryLogStream>;
  call: (path: string, init?: RequestInit) => Promise<TestResponse>;
  stop: () => Promise<void>;
}

/** A teacher service on a loopback port, on embedded PGlite or a fresh database of the test PostgreSQL server. */
export async function startTeacher(driver: Driver, courseServiceUrl: string, settings: Partial<TeacherSettings> = {}): Promise<RunningTeacher> {
  const databaseUrl = driver === 'postgres' ? await createTestDatabase(inject('postgresUrl'), 'teacher') : undefined;
  const logs = memoryLogStream();
  const service = await createTeacherService({
    logLevel: 'info',
    rateLimitPerMinute: 100_000,
    logStream: logs,
    courseServiceUrl,
    courseServiceTimeoutMs: 2000,
    ...settings,
    databaseUrl,
  });
  const running = await serveOnLoopback(service.app);
  return {
    ...running,
    service,
    logs,
    call: (path, init = {}) => testFetch(`${running.url}${path}`, init),
    stop: async () => {
      await running.close();
      await service.close();
    },
  };
}

export const json = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

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
