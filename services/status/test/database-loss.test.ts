import { createTestDatabase, TcpProxy } from '@courseops/kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { firing, webhookPayload } from './alertPayloads.js';
import { bearer, json, startStatus, type RunningStatus } from './harness.js';
import { fakeTarget, type FakeTarget } from './targets.js';

/** Short, so the outage shows on the page without a forced refresh; long enough to check within it. */
const reportMaxAgeMs = 4000;

// Only a database server can go away; embedded PGlite lives in the process.
describe('when PostgreSQL goes away', () => {
  let proxy: TcpProxy;
  let status: RunningStatus;
  let target: FakeTarget;

  beforeAll(async () => {
    const url = await createTestDatabase(inject('postgresUrl'), 'status_loss');
    proxy = await TcpProxy.start({ host: '127.0.0.1', port: Number(new URL(url).port) });
    target = await fakeTarget('course');
    status = await startStatus('postgres', { targets: [target.target], reportMaxAgeMs }, { databaseUrl: proxy.wrap(url) });
    await status.service.prober.runRound();
  });
  afterAll(async () => {
    await proxy.restore();
    await status.stop();
    await target.close();
    await proxy.cut();
  });

  it('answers 503 in JSON, keeps its probe schedule, and recovers when it is back', async () => {
    // What visitors get is the cached report (computed after the round above): nothing refreshes it by force.
    expect((await status.call('/api/status')).status).toBe(200);
    await proxy.cut();
    const webhook = await status.call('/api/alerts', json(webhookPayload([firing('loss-fp')]), bearer()));
    expect(webhook.status).toBe(503);
    expect((await (await status.call('/readyz')).json()).checks.database.status).toBe('down');
    // A failed round is reported to the caller (the schedule logs it and carries on).
    await expect(status.service.prober.runRound()).rejects.toThrow(/database unavailable/);
    expect(status.service.prober.running).toBe(true);
    // Once the cached report expires, visitors see the outage.
    await expect.poll(async () => (await status.call('/api/status')).status, { timeout: 5 * reportMaxAgeMs }).toBe(503);
    const failedAt = Date.now();
    for (const path of ['/api/status', '/']) {
      const res = await status.call(path);
      expect(res.status, path).toBe(503);
      expect((await res.json()).error.code).toBe('dependency_unavailable');
    }

    await proxy.restore();
    await expect.poll(async () => (await status.call('/readyz')).status, { timeout: 10_000 }).toBe(200);
    // Well within the expiry of the failed report, and with no round recorded: only a failure that is
    // never cached lets this visitor see the service again.
    const res = await status.call('/api/status');
    expect(Date.now() - failedAt).toBeLessThan(reportMaxAgeMs / 2);
    expect(res.status).toBe(200);
    expect((await res.json()).services[0]).toMatchObject({ name: 'course', status: 'operational' });
  });
});
