import { memoryLogStream, type BuiltService, type ServiceSettings } from '@courseops/kit';
import { createTestDatabase, serveOnLoopback, type RunningApp } from '@courseops/kit/testing';
import { inject } from 'vitest';
import { createCourseService } from '../src/service.js';

export type Driver = 'pglite' | 'postgres';
export const drivers: Driver[] = ['pglite', 'postgres'];

export interface RunningCourse extends RunningApp {
  service: BuiltService;
  logs: ReturnType<typeof memoryLogStream>;
  databaseUrl?: string;
  stop: () => Promise<void>;
}

/** A course service on a loopback port, on embedded PGlite or a fresh database of the test PostgreSQL server. */
export async function startCourse(driver: Driver, settings: Partial<ServiceSettings> = {}): Promise<RunningCourse> {
  const databaseUrl = driver === 'postgres' ? (settings.databaseUrl ?? (await createTestDatabase(inject('postgresUrl'), 'course'))) : undefined;
  const logs = memoryLogStream();
  const service = await createCourseService({ logLevel: 'info', rateLimitPerMinute: 100_000, logStream: logs, ...settings, databaseUrl });
  const running = await serveOnLoopback(service.app);
  return {
    ...running,
    service,
    logs,
    ...(databaseUrl ? { databaseUrl } : {}),
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
