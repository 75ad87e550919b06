import { createTestDatabase, TcpProxy } from '@courseops/kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { firing, webhookPayload } from './alertPayloads.js';
import { bearer, json, startStatus, type RunningStatus } from './harness.js';
import { fakeTarget, type FakeTarget } from './targets.js';

// Only a database server can go away; embedded PGlite lives in the process.
describe('when PostgreSQL goes away', () => {
  let proxy: TcpProxy;
  let status: RunningStatus;
  let target: FakeTarget;

  beforeAll(async () => {
    const url = await createTestDatabase(inject('postgresUrl'), 'status_loss');
    proxy = await TcpProxy.start({ host: '127.0.0.1', port: Number(new URL(url).port) });
    target = await fakeTarget('course');
    status = await startStatus('postgres', { targets: [target.target] }, { databaseUrl: proxy.wrap(url) });
    await status.service.prober.runRound();
  });
  afterAll(async () => {
    await proxy.restore();
    await status.stop();
    await target.close();
    await proxy.cut();
  });

  it('answers 503 in JSON, keeps its probe schedule, and recovers when it is back', async () => {
    await proxy.cut();
    status.service.reporter.invalidate();
    for (const path of ['/api/status', '/']) {
      const res = await status.call(path);
      expect(res.status, path).toBe(503);
      expect((await res.json()).error.code).toBe('dependency_unavailable');
    }
    const webhook = await status.call('/api/alerts', json(webhookPayload([firing('loss-fp')]), bearer()));
    expect(webhook.status).toBe(503);
    expect((await (await status.call('/readyz')).json()).checks.database.status).toBe('down');
    // A failed round is reported to the caller (the schedule logs it and carries on).
    await expect(status.service.prober.runRound()).rejects.toThrow(/database unavailable/);
    expect(status.service.prober.running).toBe(true);

    await proxy.restore();
    await expect.poll(async () => (await status.call('/readyz')).status, { timeout: 10_000 }).toBe(200);
    await status.service.prober.runRound();
    const body = await (await status.call('/api/status')).json();
    expect(body.services[0]).toMatchObject({ name: 'course', status: 'operational' });
  });
});
