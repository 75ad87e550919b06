import { fuzzRuns } from '@courseops/kit/testing';
import { inArray } from 'drizzle-orm';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storableTimes } from '../src/alerts.js';
import { incidents } from '../src/schema.js';
import { firing, resolved, webhookPayload } from './alertPayloads.js';
import { bearer, drivers, json, startStatus, type RunningStatus } from './harness.js';

const goZeroTime = '0001-01-01T00:00:00Z';
const day = 86_400_000;

/** Writes an instant as RFC 3339 in the given offset (minutes east of UTC), the way a sender in that zone would; undefined when the local year has no four-digit form. */
function rfc3339(instant: number, offsetMinutes: number, fraction: string): string | undefined {
  const local = new Date(instant + offsetMinutes * 60_000);
  const year = local.getUTCFullYear();
  if (year < 0 || year > 9999) return undefined;
  const two = (n: number) => String(n).padStart(2, '0');
  const sign = offsetMinutes < 0 ? '-' : '+';
  const offset = offsetMinutes === 0 ? 'Z' : `${sign}${two(Math.floor(Math.abs(offsetMinutes) / 60))}:${two(Math.abs(offsetMinutes) % 60)}`;
  return `${String(year).padStart(4, '0')}-${two(local.getUTCMonth() + 1)}-${two(local.getUTCDate())}T${two(local.getUTCHours())}:${two(local.getUTCMinutes())}:${two(local.getUTCSeconds())}${fraction}${offset}`;
}

/** Instants over the whole four-digit range, weighted to the edges of what is storable and to Go's zero time. */
const near = (at: Date) => fc.date({ min: new Date(at.getTime() - 2 * day), max: new Date(at.getTime() + 2 * day), noInvalidDate: true });
const instants = fc.oneof(
  fc.date({ min: new Date('0000-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true }),
  near(storableTimes.min),
  near(storableTimes.max),
  near(new Date(goZeroTime)),
  fc.constantFrom(storableTimes.min, storableTimes.max, new Date(goZeroTime), new Date(storableTimes.min.getTime() - 1), new Date(storableTimes.max.getTime() + 1)),
);
const times = fc
  .record({
    instant: instants,
    // Any offset RFC 3339 allows, and fractions as Alertmanager writes them (Go: up to nanoseconds).
    offset: fc.oneof(fc.constant(0), fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 })),
    fraction: fc.oneof(fc.constant(''), fc.stringMatching(/^\.\d{1,9}$/)),
  })
  .map(({ instant, offset, fraction }) => {
    // The fraction replaces the instant's milliseconds, so what is expected is what the text says.
    const text = rfc3339(instant.getTime() - instant.getUTCMilliseconds(), offset, fraction);
    return text === undefined ? undefined : { text, at: Date.parse(text) };
  })
  .filter((t): t is { text: string; at: number } => t !== undefined);

const storable = (at: number) => at >= storableTimes.min.getTime() && at <= storableTimes.max.getTime();

describe.each(drivers)('alert times on %s', (driver) => {
  let status: RunningStatus;
  let sequence = 0;

  beforeAll(async () => {
    status = await startStatus(driver, { targets: [] });
  });
  afterAll(() => status.stop());

  const post = (body: unknown) => status.call('/api/alerts', json(body, bearer()));
  const rowsOf = (...fingerprints: string[]) =>
    status.service.database.query('test', (db) => db.select().from(incidents).where(inArray(incidents.fingerprint, fingerprints)));
  const nextFingerprints = () => {
    sequence += 1;
    return [`time-ok-${sequence}`, `time-${sequence}`] as const;
  };

  describe('out of range', () => {
    it.each([
      ['year 10000 in UTC, written as 9999 with a -23:59 offset', '9999-12-31T23:59:59-23:59'],
      ['9999 in UTC plus a minute', '9999-12-31T23:59:59.999-00:01'],
      ['an expanded year', '+010000-01-01T00:00:00Z'],
      ['a negative year', '-000001-01-01T00:00:00Z'],
      ['year 0', '0000-06-01T00:00:00Z'],
      ['year 0 in UTC, written as year 1 with an offset', '0001-01-01T00:00:00+01:00'],
      ['year 1 just after Go\'s zero time', '0001-01-01T00:00:00.001Z'],
      ['year 50, which the drivers would read back as 1950', '0050-06-01T12:00:00Z'],
      ['the last millisecond before year 100', '0099-12-31T23:59:59.999Z'],
      ['year 100 written with an offset that makes it 99 in UTC', '0100-01-01T00:00:00+00:01'],
    ])('refuses %s with 400 naming the field, and stores none of the notification', async (_name, time) => {
      const [ok, bad] = nextFingerprints();
      const res = await post(webhookPayload([firing(ok), { ...firing(bad), startsAt: time }]));
      expect(res.status).toBe(400);
      const { error } = await res.json();
      expect(error.code).toBe('validation_failed');
      expect(error.details).toEqual([{ path: 'body.alerts.1.startsAt', message: expect.stringMatching(/^must be/) }]);
      expect(await rowsOf(ok, bad)).toEqual([]);
    });

    it('refuses an out-of-range end time of a resolved alert and resolves nothing', async () => {
      const [, fp] = nextFingerprints();
      const alert = firing(fp);
      expect((await post(webhookPayload([alert]))).status).toBe(200);
      const res = await post(webhookPayload([resolved(alert, '9999-12-31T23:59:59-23:59')], 'resolved'));
      expect(res.status).toBe(400);
      expect((await res.json()).error.details.map((d: { path: string }) => d.path)).toEqual(['body.alerts.0.endsAt']);
      expect((await rowsOf(fp)).map((r) => r.resolvedAt)).toEqual([null]);
    });
  });

  describe('in range', () => {
    it.each([
      ['the first storable millisecond', '0100-01-01T00:00:00Z'],
      ['year 99 written with an offset that makes it 100 in UTC', '0099-12-31T23:59:00-00:01'],
      ['a time before 1970', '1969-12-31T23:59:59.999Z'],
      ['the epoch', '1970-01-01T00:00:00Z'],
      ['the last storable millisecond, in nanoseconds', '9999-12-31T23:59:59.999999999Z'],
      ['the last day of 9999 written with a +23:59 offset', '9999-12-31T23:59:59+23:59'],
    ])('stores %s exactly and shows it', async (_name, time) => {
      const [, fp] = nextFingerprints();
      const res = await post(webhookPayload([{ ...firing(fp, { summary: `Time ${fp}` }), startsAt: time }]));
      expect(res.status).toBe(200);
      const expected = new Date(time).toISOString();
      expect((await rowsOf(fp)).map((r) => r.startedAt.toISOString())).toEqual([expected]);
      status.service.reporter.invalidate();
      const shown = (await (await status.call('/api/status')).json()).incidents.find((i: { title: string }) => i.title === `Time ${fp}`);
      expect(shown?.startedAt).toBe(expected);
    });

    it('takes Go\'s zero time as "not set": now for a start, now for an end', async () => {
      const [, fp] = nextFingerprints();
      const before = Date.now();
      const alert = { ...firing(fp), startsAt: goZeroTime };
      expect((await post(webhookPayload([alert]))).status).toBe(200);
      expect((await post(webhookPayload([resolved(alert, goZeroTime)], 'resolved'))).status).toBe(200);
      const [row] = await rowsOf(fp);
      expect(row!.startedAt.getTime()).toBeGreaterThanOrEqual(before - 5);
      expect(row!.resolvedAt!.getTime()).toBeGreaterThanOrEqual(row!.startedAt.getTime());
      expect(row!.resolvedAt!.getTime()).toBeLessThanOrEqual(Date.now());
    });
  });

  it('refuses every time outside the storable range and stores every time inside it exactly', async () => {
    const seen = { stored: 0, refused: 0, zero: 0 };
    await fc.assert(
      fc.asyncProperty(times, async ({ text, at }) => {
        const [ok, fp] = nextFingerprints();
        const res = await post(webhookPayload([firing(ok), { ...firing(fp), startsAt: text }]));
        const rows = await rowsOf(ok, fp);
        if (at === Date.parse(goZeroTime)) {
          seen.zero++;
          expect(res.status).toBe(200);
          expect(rows).toHaveLength(2);
        } else if (storable(at)) {
          seen.stored++;
          expect(res.status).toBe(200);
          expect(rows.find((r) => r.fingerprint === fp)?.startedAt.getTime()).toBe(at);
        } else {
          seen.refused++;
          expect(res.status).toBe(400);
          expect((await res.json()).error.details.map((d: { path: string }) => d.path)).toEqual(['body.alerts.1.startsAt']);
          expect(rows).toEqual([]);
        }
      }),
      { numRuns: fuzzRuns },
    );
    // The property looked on both sides of the edges.
    expect(seen.stored).toBeGreaterThan(0);
    expect(seen.refused).toBeGreaterThan(0);
  });
});

describe('alert times on a PostgreSQL database whose own time zone is not UTC', () => {
  it('reads every storable time back exactly (the service pins its sessions to UTC)', async () => {
    const { createTestDatabase } = await import('@courseops/kit/testing');
    const { inject } = await import('vitest');
    const databaseUrl = await createTestDatabase(inject('postgresUrl'), 'status_berlin');
    const admin = new (await import('pg')).default.Client({ connectionString: databaseUrl });
    await admin.connect();
    // Berlin kept local mean time (+00:53:28) until 1893: PostgreSQL writes such offsets with seconds.
    await admin.query(`alter database "${admin.database}" set timezone = 'Europe/Berlin'`);
    await admin.end();
    const status = await startStatus('postgres', { targets: [] }, { databaseUrl });
    try {
      const startsAt = '1850-06-01T12:00:00.000Z';
      const res = await status.call('/api/alerts', json(webhookPayload([{ ...firing('berlin-fp'), startsAt }]), bearer()));
      expect(res.status).toBe(200);
      const report = await (await status.call('/api/status')).json();
      expect(report.incidents).toContainEqual(expect.objectContaining({ startedAt: startsAt }));
    } finally {
      await status.stop();
    }
  });
});
