import { createMetrics, memoryLogStream, createLogger } from '@courseops/kit';
import { eq, sql } from 'drizzle-orm';
import { Counter } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Prober } from '../src/prober.js';
import { StatusReporter, worstState, type ServiceStatus } from '../src/report.js';
import { probes, type NewProbe } from '../src/schema.js';
import { drivers, startStatus, type RunningStatus } from './harness.js';
import { closedTarget, fakeTarget, type FakeTarget } from './targets.js';

const hour = 3600 * 1000;
const day = 24 * hour;
const ago = (ms: number) => new Date(Date.now() - ms);

describe('worstState', () => {
  it('orders down > degraded > operational, and nothing is operational', () => {
    expect(worstState([])).toBe('operational');
    expect(worstState(['operational', 'degraded', 'operational'])).toBe('degraded');
    expect(worstState(['degraded', 'down', 'operational'])).toBe('down');
  });
});

describe.each(drivers)('prober and status report on %s', (driver) => {
  let status: RunningStatus;
  let healthy: FakeTarget, soft: FakeTarget, slow: FakeTarget, unavailable: FakeTarget, flapping: FakeTarget;
  const fakes: FakeTarget[] = [];

  beforeAll(async () => {
    for (const [name, behaviour] of [
      ['healthy', {}],
      ['soft', { softDown: true }],
      ['slow', { delayMs: 250 }],
      ['unavailable', { status: 503 }],
      ['flapping', {}],
    ] as const) {
      fakes.push(await fakeTarget(name, behaviour));
    }
    [healthy, soft, slow, unavailable, flapping] = fakes as [FakeTarget, FakeTarget, FakeTarget, FakeTarget, FakeTarget];
    const closed = await closedTarget('closed');
    status = await startStatus(driver, {
      targets: [...fakes.map((f) => f.target), closed],
      degradedLatencyMs: 120,
      probeTimeoutMs: 1000,
    });
  });
  afterAll(async () => {
    await status.stop();
    await Promise.all(fakes.map((f) => f.close()));
  });

  const seed = (rows: NewProbe[]) => status.service.database.query('seed', (db) => db.insert(probes).values(rows));
  const report = async () => {
    const res = await status.call('/api/status');
    expect(res.status).toBe(200);
    return res.json();
  };
  const serviceNamed = (body: { services: ServiceStatus[] }, name: string) => body.services.find((s) => s.name === name);

  it('probes every target at start and reports each state, worst first overall', async () => {
    // The first round started with the service; this one queues behind it.
    await status.service.prober.runRound();
    const body = await report();
    expect(Object.keys(body).sort()).toEqual(['generatedAt', 'incidents', 'services', 'status']);
    expect(new Date(body.generatedAt).toISOString()).toBe(body.generatedAt);
    expect(body.services.map((s: { name: string }) => s.name)).toEqual(['healthy', 'soft', 'slow', 'unavailable', 'flapping', 'closed']);
    const states = Object.fromEntries(body.services.map((s: { name: string; status: string }) => [s.name, s.status]));
    expect(states).toEqual({ healthy: 'operational', soft: 'degraded', slow: 'degraded', unavailable: 'down', flapping: 'operational', closed: 'down' });
    expect(body.status).toBe('down');
    for (const s of body.services) expect(Object.keys(s).sort()).toEqual(['latencyMs', 'name', 'status', 'uptime']);
    expect(serviceNamed(body, 'healthy')).toMatchObject({ uptime: { '24h': 1, '7d': 1, '30d': 1 }, latencyMs: expect.any(Number) });
    expect(serviceNamed(body, 'soft')?.uptime['24h']).toBe(1); // degraded still counts as up
    expect(serviceNamed(body, 'unavailable')).toMatchObject({ uptime: { '24h': 0, '7d': 0, '30d': 0 }, latencyMs: expect.any(Number) });
    expect(serviceNamed(body, 'slow')?.latencyMs).toBeGreaterThanOrEqual(250);
    // No HTTP answer, no latency.
    expect(serviceNamed(body, 'closed')).toMatchObject({ uptime: { '24h': 0 }, latencyMs: null });
  });

  it('follows a target through down and back, with uptime from every recorded probe', async () => {
    const rows = async () =>
      (await status.service.database.query('count', (db) => db.select({ n: sql<number>`count(*)::int` }).from(probes).where(eq(probes.target, 'flapping'))))[0]!.n;
    const before = await rows();
    flapping.behaviour.status = 503;
    await status.service.prober.runRound();
    let body = await report();
    expect(serviceNamed(body, 'flapping')?.status).toBe('down');
    flapping.behaviour.status = 200;
    await status.service.prober.runRound();
    body = await report();
    expect(serviceNamed(body, 'flapping')?.status).toBe('operational');
    const total = await rows();
    expect(total).toBe(before + 2);
    expect(serviceNamed(body, 'flapping')?.uptime['24h']).toBeCloseTo((total - 1) / total, 10);
    expect(status.logs.lines.some((l) => l.message === 'target flapping is down' && l['log.level'] === 'warn')).toBe(true);
  });

  it('computes 24 h, 7 d and 30 d uptime from the history, in the database', async () => {
    const reporter = new StatusReporter(status.service.database, [
      { name: 'history', url: 'http://unused' },
      { name: 'old-only', url: 'http://unused' },
      { name: 'never', url: 'http://unused' },
    ]);
    const probe = (at: Date, ok: boolean, target = 'history'): NewProbe => ({
      target,
      at,
      ok,
      status: ok ? 'operational' : 'down',
      latencyMs: 10,
      httpStatus: ok ? 200 : 503,
    });
    await seed([
      // last 24 h: 3 up, 1 down
      probe(ago(23 * hour), true),
      probe(ago(12 * hour), false),
      probe(ago(2 * hour), true),
      probe(ago(1000), true),
      // 1–7 days: 4 down
      ...[25 * hour, 3 * day, 5 * day, 6.9 * day].map((ms) => probe(ago(ms), false)),
      // 7–30 days: 8 up
      ...[8, 10, 12, 15, 20, 25, 28, 29.9].map((d) => probe(ago(d * day), true)),
      // older than 30 days: ignored
      ...[31, 33, 40].map((d) => probe(ago(d * day), false)),
      // a target only seen 10 days ago, once down then up (latest)
      probe(ago(10 * day + hour), false, 'old-only'),
      probe(ago(10 * day), true, 'old-only'),
    ]);
    const body = await reporter.report();
    expect(body.services).toEqual([
      { name: 'history', status: 'operational', uptime: { '24h': 0.75, '7d': 3 / 8, '30d': 11 / 16 }, latencyMs: 10 },
      { name: 'old-only', status: 'operational', uptime: { '24h': null, '7d': null, '30d': 0.5 }, latencyMs: 10 },
      // Never probed: down, nothing known.
      { name: 'never', status: 'down', uptime: { '24h': null, '7d': null, '30d': null }, latencyMs: null },
    ]);
    expect(body.status).toBe('down');
  });

  it('takes the worst state of its services as the overall state', async () => {
    const reporter = (...names: string[]) => new StatusReporter(status.service.database, names.map((name) => ({ name, url: 'http://unused' })));
    expect((await reporter('healthy').report()).status).toBe('operational');
    expect((await reporter('healthy', 'soft').report()).status).toBe('degraded');
    expect((await reporter('soft', 'healthy', 'unavailable').report()).status).toBe('down');
    expect((await reporter().report()).status).toBe('operational');
  });

  it('prunes probes older than 35 days and keeps the rest', async () => {
    await seed([
      { target: 'prune-me', at: ago(36 * day), ok: true, status: 'operational', latencyMs: 1 },
      { target: 'prune-me', at: ago(34 * day), ok: true, status: 'operational', latencyMs: 1 },
    ]);
    expect(await status.service.prober.prune()).toBeGreaterThanOrEqual(1);
    const left = await status.service.database.query('left', (db) => db.select({ at: probes.at }).from(probes).where(eq(probes.target, 'prune-me')));
    expect(left).toHaveLength(1);
    expect(left[0]!.at.getTime()).toBeLessThan(ago(33 * day).getTime());
  });

  it('counts probes by target and result in its metrics', async () => {
    const metrics = await (await status.call('/metrics')).text();
    expect(metrics).toMatch(/status_probe_total\{target="healthy",result="operational"\} [1-9]/);
    expect(metrics).toMatch(/status_probe_total\{target="closed",result="down"\} [1-9]/);
    expect(metrics).toMatch(/status_probe_total\{target="soft",result="degraded"\} [1-9]/);
    expect(metrics).toMatch(/db_query_duration_seconds_count\{operation="uptime"\} [1-9]/);
  });

  it('reports the database as its only readiness check', async () => {
    const ready = await (await status.call('/readyz')).json();
    expect(ready).toMatchObject({ status: 'ready', checks: { database: { status: 'up' } } });
    expect(Object.keys(ready.checks)).toEqual(['database']);
  });

  it('runs rounds on its own timer, one at a time, and stops on release', async () => {
    const target = await fakeTarget('timed', { delayMs: 40 });
    fakes.push(target);
    const metrics = createMetrics();
    const prober = new Prober(
      { targets: [target.target], intervalMs: 10, probe: { degradedLatencyMs: 1000, timeoutMs: 1000 } },
      {
        database: status.service.database,
        logger: createLogger({ service: 'test', version: '0', level: 'error', stream: memoryLogStream() }),
        probeCounter: new Counter({ name: 'status_probe_total', help: 'test', labelNames: ['target', 'result'], registers: [metrics.registry] }),
        onRecorded: () => undefined,
      },
    );
    prober.start();
    // Rounds asked for directly queue behind the scheduled ones instead of overlapping them.
    await Promise.all([prober.runRound(), prober.runRound()]);
    await expect.poll(() => target.requests, { timeout: 5000 }).toBeGreaterThanOrEqual(5);
    await prober.stop();
    expect(prober.running).toBe(false);
    const stoppedAt = target.requests;
    await new Promise((r) => setTimeout(r, 150));
    expect(target.requests).toBe(stoppedAt);
    expect(target.maxConcurrent).toBe(1);
    const recorded = await status.service.database.query('timed', (db) => db.select().from(probes).where(eq(probes.target, 'timed')));
    expect(recorded).toHaveLength(stoppedAt);
  });
});
