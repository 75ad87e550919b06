import { memoryLogStream, type ServiceSettings } from '@courseops/kit';
import { createTestDatabase, serveOnLoopback, testFetch, type RunningApp } from '@courseops/kit/testing';
import { inject } from 'vitest';
import type { Target } from '../src/config.js';
import { createStatusService, type StatusOptions, type StatusService } from '../src/service.js';

export type Driver = 'pglite' | 'postgres';
export const drivers: Driver[] = ['pglite', 'postgres'];

export const webhookToken = 'test-webhook-token-0123456789';

export interface RunningStatus extends RunningApp {
  service: StatusService;
  logs: ReturnType<typeof memoryLogStream>;
  call: (path: string, init?: RequestInit) => ReturnType<typeof testFetch>;
  stop: () => Promise<void>;
}

/**
 * A status service on a loopback port, on embedded PGlite or a fresh database of the test PostgreSQL
 * server. The probe interval is long: tests drive rounds with `service.prober.runRound()` instead of waiting.
 */
export async function startStatus(
  driver: Driver,
  options: Partial<StatusOptions> & { targets: Target[] },
  settings: Partial<ServiceSettings> = {},
): Promise<RunningStatus> {
  const databaseUrl = driver === 'postgres' ? (settings.databaseUrl ?? (await createTestDatabase(inject('postgresUrl'), 'status'))) : undefined;
  const logs = memoryLogStream();
  const service = await createStatusService(
    { logLevel: 'info', rateLimitPerMinute: 100_000, logStream: logs, ...settings, databaseUrl },
    { probeIntervalMs: 3_600_000, degradedLatencyMs: 1000, alertWebhookToken: webhookToken, ...options },
  );
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
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

export const bearer = (token = webhookToken) => ({ authorization: `Bearer ${token}` });
