import type { ServiceSettings } from '@courseops/kit';
import { startOnLoopback, type Driver, type RunningService } from '@courseops/kit/testing';
import type { Target } from '../src/config.js';
import { createStatusService, type StatusOptions, type StatusService } from '../src/service.js';

export { drivers, type Driver } from '@courseops/kit/testing';

export const webhookToken = 'test-webhook-token-0123456789';

export type RunningStatus = RunningService<StatusService>;

/**
 * A status service on a loopback port, on embedded PGlite or a fresh database of the test PostgreSQL
 * server. The probe interval is long: tests drive rounds with `service.prober.runRound()` instead of waiting.
 */
export async function startStatus(
  driver: Driver,
  options: Partial<StatusOptions> & { targets: Target[] },
  settings: Partial<ServiceSettings> = {},
): Promise<RunningStatus> {
  const create = (common: ServiceSettings) =>
    createStatusService(common, { probeIntervalMs: 3_600_000, degradedLatencyMs: 1000, alertWebhookToken: webhookToken, ...options });
  return startOnLoopback(driver, 'status', create, settings);
}

export const json = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

export const bearer = (token = webhookToken) => ({ authorization: `Bearer ${token}` });
