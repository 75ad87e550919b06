import type { Express } from 'express';
import { inject } from 'vitest';
import { memoryLogStream } from '../logger.js';
import type { ServiceSettings } from '../service.js';
import { serveOnLoopback, testFetch, type RunningApp, type TestResponse } from './http.js';
import { createTestDatabase } from './postgres.js';

/**
 * Every service test runs on both databases the services support. The mutation run names one
 * (COURSEOPS_TEST_DRIVERS=pglite): the code it mutates is the same on both, and each mutant runs the tests again.
 */
export type Driver = 'pglite' | 'postgres';
export const drivers: Driver[] = driversFrom(process.env.COURSEOPS_TEST_DRIVERS);

function driversFrom(list: string | undefined): Driver[] {
  if (!list) return ['pglite', 'postgres'];
  const named = list.split(',').map((d) => d.trim());
  const unknown = named.filter((d) => d !== 'pglite' && d !== 'postgres');
  if (unknown.length > 0 || named.length === 0) throw new Error(`COURSEOPS_TEST_DRIVERS: expected pglite and/or postgres, got "${list}"`);
  return named as Driver[];
}

export interface RunningService<S> extends RunningApp {
  service: S;
  logs: ReturnType<typeof memoryLogStream>;
  databaseUrl?: string;
  call: (path: string, init?: RequestInit) => Promise<TestResponse>;
  stop: () => Promise<void>;
}

/**
 * Builds a service with test settings (its logs kept in memory, a rate limit tests don't reach, and on
 * `postgres` a fresh database of the test server unless `databaseUrl` is given) and serves it on a
 * loopback port.
 */
export async function startOnLoopback<S extends { app: Express; close: () => Promise<void> }>(
  driver: Driver,
  name: string,
  create: (settings: ServiceSettings) => Promise<S>,
  settings: Partial<ServiceSettings> = {},
): Promise<RunningService<S>> {
  const databaseUrl = driver === 'postgres' ? (settings.databaseUrl ?? (await createTestDatabase(inject('postgresUrl'), name))) : undefined;
  const logs = memoryLogStream();
  const service = await create({ logLevel: 'info', rateLimitPerMinute: 100_000, logStream: logs, ...settings, databaseUrl });
  const running = await serveOnLoopback(service.app);
  return {
    ...running,
    service,
    logs,
    ...(databaseUrl ? { databaseUrl } : {}),
    call: (path, init = {}) => testFetch(`${running.url}${path}`, init),
    stop: async () => {
      await running.close();
      await service.close();
    },
  };
}

/** A JSON request body with its content type. */
export const jsonRequest = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});
