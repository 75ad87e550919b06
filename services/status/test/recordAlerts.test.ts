import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertSchema, incidentSeverity, incidentTitle, recordAlerts, storableTimes, webhookSchema, type Alert } from '../src/alerts.js';
import { lockIncidentRecording } from '../src/incidentBound.js';
import { incidents } from '../src/schema.js';
import { firing, resolved, webhookPayload, type TestAlert } from './alertPayloads.js';
import { openTestDatabase, totalOf, type TestDatabase } from './database.js';
import { drivers } from './harness.js';

const goZeroTime = '0001-01-01T00:00:00Z';
const parse = (alert: TestAlert | Record<string, unknown>): Alert => alertSchema.parse(alert);
const issuesOf = (alert: object) => alertSchema.safeParse(alert).error?.issues ?? [];

describe('an Alertmanager alert as the webhook reads it', () => {
  it('takes RFC 3339 times in any offset, and Go\'s zero time as "not set"', () => {
    const alert = parse({ ...firing('fp'), startsAt: '2025-03-04T07:06:07.5+02:00', endsAt: goZeroTime });
    expect(alert.startsAt).toEqual(new Date('2025-03-04T05:06:07.500Z'));
    expect(alert.endsAt).toBeNull();
    expect(parse({ ...firing('fp'), startsAt: goZeroTime }).startsAt).toBeNull();
    expect(parse(resolved(firing('fp'), '2025-03-04T05:10:00Z')).endsAt).toEqual(new Date('2025-03-04T05:10:00Z'));
  });

  it('refuses a time that is not RFC 3339, or out of the storable range, saying which', () => {
    const [notRfc] = issuesOf({ ...firing('fp'), startsAt: '2025-03-04 05:06:07' });
    expect(notRfc).toMatchObject({ path: ['startsAt'], message: expect.stringContaining('RFC 3339') });
    const [outOfRange] = issuesOf({ ...firing('fp'), endsAt: '0050-01-01T00:00:00Z' });
    expect(outOfRange?.path).toEqual(['endsAt']);
    expect(outOfRange?.message).toContain(storableTimes.min.toISOString());
    expect(outOfRange?.message).toContain(storableTimes.max.toISOString());
    expect(outOfRange?.message).toContain(goZeroTime);
  });

  it('takes the firing and resolved statuses and no other', () => {
    expect(parse(firing('fp')).status).toBe('firing');
    expect(parse(resolved(firing('fp'), new Date().toISOString())).status).toBe('resolved');
    for (const status of ['pending', '', 'FIRING']) expect(issuesOf({ ...firing('fp'), status }).map((i) => i.path)).toEqual([['status']]);
  });

  it('takes a label value that starts with U+FEFF, refuses one with NUL', () => {
    expect(parse(firing('fp', { summary: '\uFEFFDisk full' }, { team: '\uFEFFops' })).labels.team).toBe('\uFEFFops');
    expect(issuesOf(firing('fp', {}, { team: 'a\u0000b' })).map((i) => i.path)).toEqual([['labels', 'team']]);
  });

  it('reads a notification of version 4 with its alerts, and refuses another version or a missing field', () => {
    const payload = webhookPayload([firing('fp-1'), resolved(firing('fp-2'), '2025-01-01T00:00:00Z')], 'resolved');
    const read = webhookSchema.parse(payload);
    expect(read).toMatchObject({ version: '4', status: 'resolved', receiver: 'status-page' });
    expect(read.alerts.map((a) => [a.fingerprint, a.status])).toEqual([['fp-1', 'firing'], ['fp-2', 'resolved']]);
    expect(webhookSchema.parse(webhookPayload([], 'firing')).status).toBe('firing');
    const pathsOf = (body: object) => webhookSchema.safeParse(body).error?.issues.map((i) => i.path.join('.'));
    expect(pathsOf({ ...payload, version: '3' })).toEqual(['version']);
    expect(pathsOf({ ...payload, status: 'pending' })).toEqual(['status']);
    expect(pathsOf({ ...payload, alerts: undefined })).toEqual(['alerts']);
    expect(pathsOf({ ...payload, groupKey: undefined })).toEqual(['groupKey']);
  });
});

describe('what an incident is called', () => {
  const alert = (annotations: Record<string, string>, labels: Record<string, string>) => {
    const a = parse(firing('fp-name', annotations, labels));
    for (const [key, value] of Object.entries(labels)) if (value === '-') delete a.labels[key];
    return a;
  };

  it('is the summary, else the alertname, else the fingerprint, each without surrounding blanks', () => {
    expect(incidentTitle(alert({ summary: '  Disk almost full \n' }, {}))).toBe('Disk almost full');
    expect(incidentTitle(alert({ summary: ' \t ' }, { alertname: '  CourseDown  ' }))).toBe('CourseDown');
    expect(incidentTitle(alert({}, { alertname: ' ' }))).toBe('Alert fp-name');
    expect(incidentTitle(alert({}, { alertname: '-' }))).toBe('Alert fp-name');
  });

  it('is cut at 200 characters, never inside a surrogate pair', () => {
    const long = `${'a'.repeat(199)}😀${'b'.repeat(50)}`;
    const title = incidentTitle(alert({ summary: long }, {}));
    expect(Array.from(title)).toHaveLength(200);
    expect(long.startsWith(title)).toBe(true);
    expect(title.isWellFormed()).toBe(true);
    expect(title.endsWith('😀')).toBe(true);
    const emoji = '🔥'.repeat(300);
    expect(incidentTitle(alert({ summary: emoji }, {}))).toBe('🔥'.repeat(200));
  });

  it('has the severity label without blanks, warning when there is none, cut at 40 characters', () => {
    expect(incidentSeverity(alert({}, { severity: ' critical ' }))).toBe('critical');
    expect(incidentSeverity(alert({}, { severity: '  ' }))).toBe('warning');
    expect(incidentSeverity(alert({}, { severity: '-' }))).toBe('warning');
    expect(incidentSeverity(alert({}, { severity: `${'x'.repeat(39)}🚨🚨` }))).toBe(`${'x'.repeat(39)}🚨`);
  });
});

describe.each(drivers)('recording alerts on %s', (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await openTestDatabase(driver);
  });
  afterAll(() => db.database.close());

  const record = (alerts: TestAlert[], maxOpen = 500) => recordAlerts(db.database, alerts.map(parse), maxOpen);
  const rowsOf = (fingerprint: string) => db.database.query('test', (d) => d.select().from(incidents).where(eq(incidents.fingerprint, fingerprint)));
  const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString();

  it('does not touch the database for a notification without alerts', async () => {
    const before = totalOf(await db.timedQueries());
    expect(await recordAlerts(db.database, [], 500)).toEqual({ opened: 0, resolved: 0, bound: undefined });
    expect(totalOf(await db.timedQueries())).toBe(before);
  });

  it('times its queries under a named operation', async () => {
    const before = totalOf(await db.timedQueries());
    await record([firing('fp-timed')]);
    const timed = await db.timedQueries();
    expect(totalOf(timed)).toBeGreaterThan(before);
    expect(timed.has('')).toBe(false);
  });

  it('keeps the open set bounded only when it opened an incident', async () => {
    const opened = await record([firing('fp-bound-a')]);
    expect(opened.opened).toBe(1);
    expect(opened.bound).toMatchObject({ shed: 0 });
    // A repeat opens nothing, a resolve neither: there is nothing to bound.
    expect(await record([firing('fp-bound-a')])).toEqual({ opened: 0, resolved: 0, bound: undefined });
    expect(await record([resolved(firing('fp-bound-a'), minutesAgo(0))])).toEqual({ opened: 0, resolved: 1, bound: undefined });
    // Over a bound of 1, the older of two new warnings is shed.
    const over = await record([{ ...firing('fp-bound-b'), startsAt: minutesAgo(2) }, { ...firing('fp-bound-c'), startsAt: minutesAgo(1) }], 1);
    expect(over.bound).toMatchObject({ shed: expect.any(Number) });
    expect(over.bound!.shed).toBeGreaterThanOrEqual(1);
    expect(await rowsOf('fp-bound-b')).toHaveLength(0);
    expect(await rowsOf('fp-bound-c')).toHaveLength(1);
  });

  it('never lets an incident end before it started, whatever the clocks said', async () => {
    const alert = { ...firing('fp-early-end'), startsAt: minutesAgo(10) };
    await record([alert]);
    expect((await record([resolved(alert, minutesAgo(30))])).resolved).toBe(1);
    const [row] = await rowsOf('fp-early-end');
    expect(row!.resolvedAt).toEqual(new Date(alert.startsAt));
  });

  it('resolves at the time it is told, or now when the end time is Go\'s zero time', async () => {
    const told = { ...firing('fp-end-told'), startsAt: minutesAgo(10) };
    const unset = { ...firing('fp-end-unset'), startsAt: minutesAgo(10) };
    await record([told, unset]);
    const endsAt = minutesAgo(3);
    const before = Date.now();
    await record([resolved(told, endsAt), resolved(unset, goZeroTime)]);
    const after = Date.now();
    expect((await rowsOf('fp-end-told'))[0]!.resolvedAt).toEqual(new Date(endsAt));
    const resolvedAt = (await rowsOf('fp-end-unset'))[0]!.resolvedAt!.getTime();
    expect(resolvedAt).toBeGreaterThanOrEqual(before);
    expect(resolvedAt).toBeLessThanOrEqual(after);
  });

  it('opens a new incident when a resolved alert fires again', async () => {
    const alert = firing('fp-again');
    await record([alert]);
    await record([resolved(alert, minutesAgo(0))]);
    expect((await record([alert])).opened).toBe(1);
    expect(await rowsOf('fp-again')).toHaveLength(2);
  });
});

// Two sessions can only contend on a server (PGlite runs one statement at a time), so this runs on
// PostgreSQL whatever COURSEOPS_TEST_DRIVERS says, like the database-loss test.
describe('recording alerts beside another notification on postgres', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await openTestDatabase('postgres');
  });
  afterAll(() => db.database.close());

  const record = (alerts: TestAlert[]) => recordAlerts(db.database, alerts.map(parse), 500);
  const now = () => new Date().toISOString();

  it('waits for the recording lock only when a notification opens incidents', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let taken!: () => void;
    const lockTaken = new Promise<void>((r) => (taken = r));
    // Another notification that is opening incidents, stopped while it holds the lock.
    const other = db.database.query('test_hold', (d) =>
      d.transaction(async (tx) => {
        await lockIncidentRecording(tx);
        taken();
        await held;
      }),
    );
    await lockTaken;
    try {
      const settledWithin = async (p: Promise<unknown>, ms: number) =>
        Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);
      // A resolve-only notification goes through while the lock is held...
      expect(await settledWithin(record([resolved(firing('fp-lock-none'), now())]), 1500)).toBe(true);
      // ...one that opens waits for it, alone or beside a resolve.
      const opening = record([firing('fp-lock-open')]);
      const mixed = record([resolved(firing('fp-lock-none'), now()), firing('fp-lock-mixed')]);
      expect(await settledWithin(opening, 300)).toBe(false);
      expect(await settledWithin(mixed, 1)).toBe(false);
      release();
      expect(await opening).toMatchObject({ opened: 1 });
      expect(await mixed).toMatchObject({ opened: 1 });
    } finally {
      release();
      await other;
    }
  });
});
