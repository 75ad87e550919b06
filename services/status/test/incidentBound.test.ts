import { randomUUID } from 'node:crypto';
import { asc, isNull } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultMaxOpenIncidents } from '../src/service.js';
import { incidents } from '../src/schema.js';
import { firing, resolved, webhookPayload, type TestAlert } from './alertPayloads.js';
import { bearer, drivers, json, startStatus, type Driver, type RunningStatus } from './harness.js';

const minute = 60_000;
const at = (minutesAgo: number) => new Date(Date.now() - minutesAgo * minute).toISOString();

/** A firing alert with its own start and severity; titled by its fingerprint so the page can be searched for it. */
const alert = (fingerprint: string, startsAt: string, severity = 'warning'): TestAlert => ({
  ...firing(fingerprint, { summary: `Incident ${fingerprint}` }, { severity }),
  startsAt,
});

/** Notifications as Alertmanager would send them for many alerts: batches that stay under the 16 KiB body limit. */
async function sendInBatches(status: RunningStatus, alerts: TestAlert[], perNotification = 40): Promise<void> {
  for (let i = 0; i < alerts.length; i += perNotification) {
    const res = await status.call('/api/alerts', json(webhookPayload(alerts.slice(i, i + perNotification)), bearer()));
    expect(res.status).toBe(200);
  }
}

const openRows = (status: RunningStatus) =>
  status.service.database.query('test', (db) =>
    db.select().from(incidents).where(isNull(incidents.resolvedAt)).orderBy(asc(incidents.startedAt), asc(incidents.fingerprint)),
  );

async function report(status: RunningStatus) {
  status.service.reporter.invalidate();
  const body = (await (await status.call('/api/status')).json()) as { incidents: { title: string; severity: string; startedAt: string; resolvedAt: string | null }[] };
  const page = await (await status.call('/')).text();
  return { incidents: body.incidents, page };
}

/** The incident titles in the order the page shows them. */
const pageTitles = (page: string) => [...page.matchAll(/<li class="card incident[^"]*">\s*<div class="card-head">\s*<h3>([^<]*)<\/h3>/g)].map((m) => m[1]);

const shedWarnings = (status: RunningStatus) => status.logs.lines.filter((l) => l['log.level'] === 'warn' && String(l.message).includes('MAX_OPEN_INCIDENTS'));

async function shedMetric(status: RunningStatus): Promise<number> {
  const metrics = await (await status.call('/metrics')).text();
  return Number(/^status_incidents_shed_total (\d+)$/m.exec(metrics)?.[1]);
}

describe.each(drivers)('open incidents bound on %s', (driver: Driver) => {
  describe('with the default bound', () => {
    let status: RunningStatus;
    beforeAll(async () => {
      status = await startStatus(driver, { targets: [] });
    });
    afterAll(() => status.stop());

    it('keeps MAX_OPEN_INCIDENTS open in a storm of 4,000 warnings, and a critical that started before the storm is shown first', async () => {
      // One a minute, the newest last.
      const storm = Array.from({ length: 4000 }, (_, i) => alert(`storm-${i}`, at(4000 - i)));
      await sendInBatches(status, storm);
      let open = await openRows(status);
      expect(open).toHaveLength(defaultMaxOpenIncidents);
      // The newest were kept: the oldest were shed first.
      expect(open[0]!.fingerprint).toBe(`storm-${4000 - defaultMaxOpenIncidents}`);

      // Started before every warning of the storm, so the newest-first order alone would never show it.
      const criticalStart = at(5000);
      await sendInBatches(status, [alert('storm-critical', criticalStart, 'critical')]);
      open = await openRows(status);
      expect(open).toHaveLength(defaultMaxOpenIncidents);
      expect(open.some((r) => r.fingerprint === 'storm-critical')).toBe(true);

      const { incidents: shown, page } = await report(status);
      expect(shown[0]).toEqual({ title: 'Incident storm-critical', severity: 'critical', startedAt: criticalStart, resolvedAt: null });
      expect(pageTitles(page)[0]).toBe('Incident storm-critical');
      // Bounded: the critical, then the newest warnings up to the page's bound.
      expect(shown.length).toBeLessThanOrEqual(1 + 100);
      expect(shown[1]!.title).toBe('Incident storm-3999');
      expect(await shedMetric(status)).toBe(4000 + 1 - defaultMaxOpenIncidents);
    }, 120_000);

    it('shows every open critical first, newest first, however many warnings are open (4,000 seeded past the bound)', async () => {
      const rows: (typeof incidents.$inferInsert)[] = Array.from({ length: 4000 }, (_, i) => ({
        id: randomUUID(),
        fingerprint: `seeded-${i}`,
        title: `Warning ${i}`,
        severity: 'warning',
        startedAt: new Date(Date.now() - (4000 - i) * 1000),
      }));
      const criticals = [3, 2, 1].map((hoursAgo) => ({
        id: randomUUID(),
        fingerprint: `seeded-critical-${hoursAgo}`,
        title: `Critical ${hoursAgo}`,
        severity: 'critical',
        startedAt: new Date(Date.now() - hoursAgo * 60 * minute - 4000 * 1000),
      }));
      await status.service.database.query('seed', async (db) => {
        await db.delete(incidents);
        for (let i = 0; i < rows.length; i += 1000) await db.insert(incidents).values(rows.slice(i, i + 1000));
        await db.insert(incidents).values(criticals);
      });
      const { incidents: shown, page } = await report(status);
      expect(shown.slice(0, 4).map((i) => i.title)).toEqual(['Critical 1', 'Critical 2', 'Critical 3', 'Warning 3999']);
      expect(pageTitles(page).slice(0, 4)).toEqual(['Critical 1', 'Critical 2', 'Critical 3', 'Warning 3999']);
      expect(shown).toHaveLength(3 + 100);
    });
  });

  describe('with MAX_OPEN_INCIDENTS=5', () => {
    let status: RunningStatus;
    beforeAll(async () => {
      status = await startStatus(driver, { targets: [], maxOpenIncidents: 5 });
    });
    afterAll(() => status.stop());

    const post = (alerts: TestAlert[], kind: 'firing' | 'resolved' = 'firing') => status.call('/api/alerts', json(webhookPayload(alerts, kind), bearer()));
    const clear = () => status.service.database.query('clear', (db) => db.delete(incidents));

    it('sheds the oldest non-critical incidents first, whatever order they came in, in the notification that went over', async () => {
      await clear();
      const warningsBefore = shedWarnings(status).length;
      const shedBefore = await shedMetric(status);
      // Sent out of order; the start time decides which is oldest.
      for (const minutesAgo of [30, 50, 10, 40, 20]) expect((await post([alert(`old-${minutesAgo}`, at(minutesAgo))])).status).toBe(200);
      const criticalOld = alert('old-critical', at(90), 'critical');
      expect((await post([criticalOld, alert('new-5', at(5)), alert('new-1', at(1))])).status).toBe(200);
      const open = await openRows(status);
      expect(open.map((r) => r.fingerprint)).toEqual(['old-critical', 'old-20', 'old-10', 'new-5', 'new-1']);
      expect(await shedMetric(status)).toBe(shedBefore + 3);
      // One warning for the one notification that shed.
      expect(shedWarnings(status).length).toBe(warningsBefore + 1);
      expect(shedWarnings(status).at(-1)).toMatchObject({ 'incidents.shed': 3, 'incidents.open': 5, 'incidents.max_open': 5 });
    });

    it('sheds a new warning older than every open one at once, and brings it back when there is room', async () => {
      await clear();
      await post([1, 2, 3, 4, 5].map((m) => alert(`room-${m}`, at(m))));
      const ancientStart = at(600);
      expect((await post([alert('room-ancient', ancientStart)])).status).toBe(200);
      expect((await openRows(status)).map((r) => r.fingerprint)).not.toContain('room-ancient');
      await post([resolved(alert('room-1', at(1)), at(0))], 'resolved');
      // Alertmanager repeats a firing alert; with room it is open again, with its own start time.
      await post([alert('room-ancient', ancientStart)]);
      const open = await openRows(status);
      expect(open).toHaveLength(5);
      expect(open[0]).toMatchObject({ fingerprint: 'room-ancient', startedAt: new Date(ancientStart) });
    });

    it('never sheds a critical, even when criticals alone exceed the bound: all stay open and shown, and it warns', async () => {
      await clear();
      await post([1, 2, 3].map((m) => alert(`few-${m}`, at(m))));
      const criticals = Array.from({ length: 8 }, (_, i) => alert(`many-critical-${i}`, at(100 + i), 'critical'));
      expect((await post(criticals)).status).toBe(200);
      let open = await openRows(status);
      expect(open).toHaveLength(8);
      expect(open.every((r) => r.severity === 'critical')).toBe(true);
      expect(status.logs.lines.some((l) => l['log.level'] === 'warn' && String(l.message).includes('critical incidents alone exceed'))).toBe(true);
      // A new warning is shed at once while the criticals fill the bound.
      await post([alert('few-late', at(0))]);
      open = await openRows(status);
      expect(open.map((r) => r.severity)).toEqual(Array(8).fill('critical'));
      const { incidents: shown, page } = await report(status);
      expect(shown.filter((i) => i.resolvedAt === null).map((i) => i.title)).toEqual(criticals.map((c) => `Incident ${c.fingerprint}`));
      expect(pageTitles(page).slice(0, 8)).toEqual(criticals.map((c) => `Incident ${c.fingerprint}`));
    });

    it('keeps the bound under concurrent notifications, each one whole or refused as overloaded', async () => {
      await clear();
      // Long enough transactions, and more of them than the pool has connections, so they overlap; the start
      // times interleave, so each would keep its own newest alerts if it could not see the others'.
      const notifications = Array.from({ length: 16 }, (_, n) => Array.from({ length: 40 }, (_, i) => alert(`race-${n}-${i}`, at(i * 16 + n))));
      const answers = await Promise.all(notifications.map((alerts) => post(alerts)));
      const outcomes = await Promise.all(answers.map(async (a) => `${a.status} ${a.status === 200 ? '' : (await a.json()).error.code}`.trim()));
      // Waiting for the recording lock may outlast the pool wait: that is overload (Alertmanager retries), never an error.
      expect(outcomes.filter((o) => o !== '200' && o !== '503 overloaded')).toEqual([]);
      expect(outcomes.filter((o) => o === '200').length).toBeGreaterThan(1);
      expect(await openRows(status)).toHaveLength(5);
    });

    it('lists resolved incidents after the open ones, most recently resolved first', async () => {
      await clear();
      const ends = { a: 30, b: 10, c: 20 } as const;
      for (const [name] of Object.entries(ends)) await post([alert(`done-${name}`, at(60))]);
      await post([alert('still-open', at(120))]);
      for (const [name, minutesAgo] of Object.entries(ends)) await post([resolved(alert(`done-${name}`, at(60)), at(minutesAgo))], 'resolved');
      const { incidents: shown } = await report(status);
      expect(shown.map((i) => i.title)).toEqual(['Incident still-open', 'Incident done-b', 'Incident done-c', 'Incident done-a']);
    });
  });
});
