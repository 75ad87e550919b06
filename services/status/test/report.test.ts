import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Target } from '../src/config.js';
import { StatusReporter, statusReportSchema, worstState, type StatusReport } from '../src/report.js';
import { incidents, probes, type NewProbe } from '../src/schema.js';
import { openTestDatabase, type TestDatabase } from './database.js';
import { drivers } from './harness.js';

const minute = 60_000;
const hour = 60 * minute;
const day = 24 * hour;
const ago = (ms: number) => new Date(Date.now() - ms);
const target = (name: string): Target => ({ name, url: `http://${name}.test` });

describe('the overall state', () => {
  it('is the worst state of the services, operational when there are none', () => {
    expect(worstState([])).toBe('operational');
    expect(worstState(['operational', 'operational'])).toBe('operational');
    expect(worstState(['operational', 'degraded', 'operational'])).toBe('degraded');
    expect(worstState(['down', 'degraded', 'operational'])).toBe('down');
    expect(worstState(['degraded', 'down'])).toBe('down');
  });
});

describe('the documented report schema', () => {
  const report = (uptime: number | null): unknown => ({
    status: 'degraded',
    services: [{ name: 'course', status: 'degraded', uptime: { '24h': uptime, '7d': 1, '30d': 0 }, latencyMs: 1500 }],
    incidents: [{ title: 'Slow', severity: 'warning', startedAt: '2025-01-01T00:00:00.000Z', resolvedAt: null }],
    generatedAt: '2025-01-01T00:01:00.000Z',
  });

  it('takes uptime as a share from 0 to 1, or null', () => {
    for (const uptime of [0, 0.5, 1, null]) expect(statusReportSchema.parse(report(uptime))).toEqual(report(uptime));
    for (const uptime of [-0.01, 1.01]) expect(statusReportSchema.safeParse(report(uptime)).success).toBe(false);
  });
});

describe.each(drivers)('the status report on %s', (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await openTestDatabase(driver);
  });
  afterAll(() => db.database.close());
  afterEach(() => {
    vi.useRealTimers();
  });

  const seedProbes = (rows: NewProbe[]) => db.database.query('seed', (d) => d.insert(probes).values(rows));
  const probe = (name: string, at: Date, status: NewProbe['status'], latencyMs: number, httpStatus: number | null = 200): NewProbe => ({
    target: name,
    at,
    ok: status !== 'down',
    status,
    latencyMs,
    httpStatus,
  });
  type Seeded = { title: string; severity?: string; startedAt: Date; resolvedAt?: Date };
  const seedIncidents = (rows: Seeded[]) =>
    db.database.query('seed', (d) =>
      d.insert(incidents).values(rows.map((r) => ({ id: randomUUID(), fingerprint: randomUUID(), severity: 'warning', resolvedAt: null, ...r }))),
    );
  const clearIncidents = () => db.database.query('seed', (d) => d.delete(incidents));
  const fresh = (targets: Target[], maxAgeMs?: number) => new StatusReporter(db.database, targets, maxAgeMs);

  it('shows each service by its newest probe, and a service never probed as down with nothing known', async () => {
    await seedProbes([
      probe('latest-a', ago(2 * minute), 'down', 5000, null),
      probe('latest-a', ago(1 * minute), 'operational', 120),
      probe('latest-b', ago(2 * minute), 'operational', 80),
      probe('latest-b', ago(1 * minute), 'degraded', 1500),
      // No HTTP answer: the time it waited is no response time.
      probe('latest-c', ago(1 * minute), 'down', 5000, null),
    ]);
    const report = await fresh(['latest-a', 'latest-b', 'latest-c', 'never'].map(target)).report();
    expect(report.services.map(({ name, status, latencyMs }) => ({ name, status, latencyMs }))).toEqual([
      { name: 'latest-a', status: 'operational', latencyMs: 120 },
      { name: 'latest-b', status: 'degraded', latencyMs: 1500 },
      { name: 'latest-c', status: 'down', latencyMs: null },
      { name: 'never', status: 'down', latencyMs: null },
    ]);
    expect(report.services[3]!.uptime).toEqual({ '24h': null, '7d': null, '30d': null });
    expect(report.status).toBe('down');
    expect((await fresh(['latest-a', 'latest-b'].map(target)).report()).status).toBe('degraded');
    expect((await fresh([target('latest-a')]).report()).status).toBe('operational');
  });

  it('computes uptime as the share of ok probes in each window', async () => {
    await seedProbes([
      // The last day: 3 of 4 ok.
      ...[1, 2, 3].map((h) => probe('uptime', ago(h * hour), 'operational', 100)),
      probe('uptime', ago(4 * hour), 'down', 5000, null),
      // 2 to 7 days ago: 4 more, none ok (7 d: 3 of 8).
      ...[2, 3, 4, 5].map((d) => probe('uptime', ago(d * day), 'down', 5000, 503)),
      // 8 to 30 days ago: 8 more, all ok, degraded counting as up (30 d: 11 of 16).
      ...[8, 10, 12, 14, 16, 18, 20, 29].map((d) => probe('uptime', ago(d * day), 'degraded', 1500)),
      // Older than every window.
      ...[31, 40].map((d) => probe('uptime', ago(d * day), 'down', 5000, null)),
      // Another service's history counts only for it.
      probe('uptime-other', ago(hour), 'down', 5000, null),
      // No probe in the last day: nothing to say about it.
      probe('uptime-quiet', ago(3 * day), 'operational', 100),
    ]);
    const report = await fresh(['uptime', 'uptime-other', 'uptime-quiet'].map(target)).report();
    expect(report.services.map((s) => s.uptime)).toEqual([
      { '24h': 3 / 4, '7d': 3 / 8, '30d': 11 / 16 },
      { '24h': 0, '7d': 0, '30d': 0 },
      { '24h': null, '7d': 1, '30d': 1 },
    ]);
    // The schema /openapi.json documents describes it whole.
    expect(statusReportSchema.parse(report)).toEqual(report);
  });

  it('times its queries under named operations, and runs no uptime query without targets', async () => {
    const before = await db.timedQueries();
    await fresh([]).report();
    const afterEmpty = await db.timedQueries();
    const grew = (from: Map<string, number>, to: Map<string, number>) => [...to].filter(([op, n]) => n > (from.get(op) ?? 0)).map(([op]) => op);
    const withoutTargets = grew(before, afterEmpty);
    await fresh([target('latest-a')]).report();
    const withTargets = grew(afterEmpty, await db.timedQueries());
    expect(withoutTargets).not.toContain('');
    expect(withTargets).not.toContain('');
    // With targets: one query more than without (their uptime), besides the newest probes and the incidents.
    expect(withTargets.length).toBe(withoutTargets.length + 1);
    expect(withTargets).toEqual(expect.arrayContaining(withoutTargets));
  });

  it('lists every open critical, then up to 100 other open incidents, then the 20 most recently resolved, each newest first', async () => {
    await clearIncidents();
    const criticals = [3, 1, 2].map((h) => ({ title: `critical ${h}h`, severity: 'critical', startedAt: ago(h * day) }));
    const warnings = Array.from({ length: 105 }, (_, i) => ({ title: `warning ${i}`, startedAt: ago((i + 1) * minute) }));
    // Started in one order, resolved in another: the end time decides.
    const resolvedOnes = Array.from({ length: 25 }, (_, i) => ({ title: `resolved ${i}`, startedAt: ago(i * minute + day), resolvedAt: ago(((i * 7) % 25) * minute + 1000) }));
    await seedIncidents([...warnings, ...resolvedOnes, ...criticals]);
    const { incidents: shown } = await fresh([]).report();
    expect(shown.slice(0, 3).map((i) => i.title)).toEqual(['critical 1h', 'critical 2h', 'critical 3h']);
    expect(shown.slice(3, 103).map((i) => i.title)).toEqual(warnings.slice(0, 100).map((w) => w.title));
    const newestResolved = [...resolvedOnes].sort((a, b) => b.resolvedAt.getTime() - a.resolvedAt.getTime()).slice(0, 20);
    expect(shown.slice(103).map((i) => i.title)).toEqual(newestResolved.map((r) => r.title));
    expect(shown[0]).toEqual({ title: 'critical 1h', severity: 'critical', startedAt: criticals[1]!.startedAt.toISOString(), resolvedAt: null });
    expect(shown[103]).toEqual({ title: newestResolved[0]!.title, severity: 'warning', startedAt: newestResolved[0]!.startedAt.toISOString(), resolvedAt: newestResolved[0]!.resolvedAt.toISOString() });
  });

  describe('cache', () => {
    const maxAgeMs = 1000;
    const titles = (report: StatusReport) => report.incidents.map((i) => i.title);

    it('serves the same report until it expires or something was recorded', async () => {
      await clearIncidents();
      vi.useFakeTimers({ toFake: ['Date'] });
      const reporter = fresh([], maxAgeMs);
      const first = await reporter.report();
      await seedIncidents([{ title: 'recorded meanwhile', startedAt: ago(minute) }]);
      vi.advanceTimersByTime(maxAgeMs - 1);
      expect(await reporter.report()).toEqual(first);
      vi.advanceTimersByTime(1);
      const expired = await reporter.report();
      expect(titles(expired)).toEqual(['recorded meanwhile']);
      expect(expired.generatedAt).not.toBe(first.generatedAt);
      await seedIncidents([{ title: 'recorded and told', startedAt: ago(0) }]);
      reporter.invalidate();
      expect(titles(await reporter.report())).toEqual(['recorded and told', 'recorded meanwhile']);
    });

    const renameIncidents = (from: string, to: string) => db.database.query('seed', (d) => d.execute(sql.raw(`alter table ${from} rename to ${to}`)));

    it('does not serve a failed computation again, nor let it drop a newer report', async () => {
      await clearIncidents();
      vi.useFakeTimers({ toFake: ['Date'] });
      const reporter = fresh([], maxAgeMs);
      await renameIncidents('incidents', 'incidents_away');
      try {
        await expect(reporter.report()).rejects.toThrow();
      } finally {
        await renameIncidents('incidents_away', 'incidents');
      }
      // Well within the expiry: the failure is not what the next caller gets.
      const recovered = await reporter.report();
      expect(recovered.incidents).toEqual([]);
    });

    // PGlite runs one statement at a time, and none beside an open transaction: holding one orders the
    // statements of the two computations and of the rename between them, which a server's pool would not.
    it.runIf(driver === 'pglite')('does not let a computation that fails drop the newer report cached meanwhile', async () => {
      await clearIncidents();
      vi.useFakeTimers({ toFake: ['Date'] });
      const reporter = fresh([], maxAgeMs);
      const nextTurn = () => new Promise((r) => setImmediate(r));
      await renameIncidents('incidents', 'incidents_away');
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let holding!: () => void;
      const held = new Promise<void>((r) => (holding = r));
      const hold = db.database.query('hold', (d) => d.transaction(async () => (holding(), await gate)));
      await held;
      const failing = reporter.report();
      await nextTurn();
      const restored = renameIncidents('incidents_away', 'incidents');
      await nextTurn();
      // Something was recorded: the next report is computed afresh, after the table is back.
      reporter.invalidate();
      vi.advanceTimersByTime(1);
      const newer = reporter.report();
      await nextTurn();
      release();
      await hold;
      await expect(failing).rejects.toThrow();
      await restored;
      const newerReport = await newer;
      vi.advanceTimersByTime(1);
      expect(await reporter.report()).toEqual(newerReport);
    });
  });
});
