import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { backupName, parseBackupName, timestamp } from '../backup/naming.js';
import { isoWeek, planRotation, rotate } from '../backup/rotate.js';
import { metricsText, pushUrl } from '../backup/metrics.js';

/** Rotation as a pure function of file names (synthetic names, no database), then applied to a folder. */
const at = (iso: string) => backupName('course', new Date(iso));

describe('backup names', () => {
  it('are <service>-<UTC timestamp>.dump and parse back to the same time', () => {
    const d = new Date('2026-11-23T02:30:05.123Z');
    expect(backupName('course', d)).toBe('course-20261123T023005Z.dump');
    expect(parseBackupName('course-20261123T023005Z.dump')).toEqual({ service: 'course', at: new Date('2026-11-23T02:30:05Z'), name: 'course-20261123T023005Z.dump' });
    expect(timestamp(d)).toBe('20261123T023005Z');
  });

  it('rejects what is not a backup name (so rotation never touches it)', () => {
    for (const n of ['course-20261123T023005Z.dump.partial', 'course-20261323T023005Z.dump', 'course.dump', 'notes.txt', 'course-20261123T023005Z.dump.sha256']) {
      expect(parseBackupName(n), n).toBeUndefined();
    }
    expect(() => backupName('Course_1', new Date())).toThrow(/invalid service name/);
  });
});

describe('ISO weeks', () => {
  it.each([
    ['2026-11-23T00:00:00Z', '2026-W48'], // Monday
    ['2026-11-29T23:59:59Z', '2026-W48'], // Sunday of the same week
    ['2021-01-03T12:00:00Z', '2020-W53'], // early January in the previous year's last week
    ['2024-12-30T12:00:00Z', '2025-W01'], // late December in the next year's first week
  ])('%s is in %s', (d, w) => expect(isoWeek(new Date(d))).toBe(w));
});

describe('planRotation keeps the newest of each of the last 7 days and 4 ISO weeks', () => {
  it('one nightly backup for 60 days: the last 7 days plus the last backup of the 4 weeks', () => {
    // 2026-09-26 .. 2026-11-24 (a Tuesday), 02:00 UTC
    const names = Array.from({ length: 60 }, (_, i) => at(new Date(Date.UTC(2026, 8, 26 + i, 2)).toISOString()));
    const plan = planRotation(names, 'course');
    expect(plan.keep).toEqual([
      // days: 24 Nov back to 18 Nov (7 days); 24 and 23 Nov are week 48, whose newest is 24 Nov
      at('2026-11-24T02:00:00Z'),
      at('2026-11-23T02:00:00Z'),
      at('2026-11-22T02:00:00Z'), // Sunday: newest of week 47
      at('2026-11-21T02:00:00Z'),
      at('2026-11-20T02:00:00Z'),
      at('2026-11-19T02:00:00Z'),
      at('2026-11-18T02:00:00Z'),
      at('2026-11-15T02:00:00Z'), // week 46
      at('2026-11-08T02:00:00Z'), // week 45
    ]);
    expect(plan.remove).toHaveLength(60 - 9);
    expect(new Set([...plan.keep, ...plan.remove]).size).toBe(60);
  });

  it('several backups a day: only the newest of each day counts', () => {
    const names = [at('2026-11-24T02:00:00Z'), at('2026-11-24T14:00:00Z'), at('2026-11-24T09:00:00Z'), at('2026-11-23T02:00:00Z'), at('2026-11-23T23:59:59Z')];
    const plan = planRotation(names, 'course');
    expect(plan.keep).toEqual([at('2026-11-24T14:00:00Z'), at('2026-11-23T23:59:59Z')]);
    expect(plan.remove).toEqual([at('2026-11-24T09:00:00Z'), at('2026-11-24T02:00:00Z'), at('2026-11-23T02:00:00Z')]);
  });

  it('after a long outage the last good backups are kept, not deleted for being old', () => {
    const names = ['2026-01-05', '2026-01-06', '2026-01-07', '2026-03-01'].map((d) => at(`${d}T02:00:00Z`));
    expect(planRotation(names, 'course')).toEqual({ keep: [...names].reverse(), remove: [] });
  });

  it('keeps 7 daily and 4 weekly when weeks are sparse: one backup a week for 10 weeks', () => {
    const names = Array.from({ length: 10 }, (_, i) => at(new Date(Date.UTC(2026, 8, 7 + 7 * i, 2)).toISOString())); // Mondays
    const plan = planRotation(names, 'course');
    // each backup is the newest of its day and of its week: the 7 newest days win
    expect(plan.keep).toEqual([...names].reverse().slice(0, 7));
    expect(plan.remove).toEqual([...names].reverse().slice(7));
  });

  it('ignores other services and foreign files', () => {
    const names = [at('2026-11-24T02:00:00Z'), 'teacher-20200101T000000Z.dump', 'course-20200101T000000Z.dump.partial', 'README'];
    expect(planRotation(names, 'course')).toEqual({ keep: [at('2026-11-24T02:00:00Z')], remove: [] });
  });
});

describe('rotate applies the plan to a folder', () => {
  it('removes dropped backups with their checksum and manifest, and nothing else', () => {
    const dir = mkdtempSync(join(tmpdir(), 'courseops-rotate-'));
    try {
      const names = Array.from({ length: 10 }, (_, i) => at(new Date(Date.UTC(2026, 10, 1 + i, 2)).toISOString()));
      for (const n of names) for (const f of [n, `${n}.sha256`, `${n}.json`]) writeFileSync(join(dir, f), 'x');
      writeFileSync(join(dir, 'teacher-20200101T000000Z.dump'), 'x');
      writeFileSync(join(dir, `${names[0]}.partial`), 'x');
      const plan = rotate(dir, 'course');
      // 1..10 Nov: the last 7 days (4..10 Nov), plus 1 Nov (Sunday: newest of week 44); week 45 is 2..8 Nov
      expect(plan.remove).toEqual([at('2026-11-03T02:00:00Z'), at('2026-11-02T02:00:00Z')]);
      const left = readdirSync(dir);
      for (const n of plan.remove) for (const f of [n, `${n}.sha256`, `${n}.json`]) expect(left).not.toContain(f);
      for (const n of plan.keep) for (const f of [n, `${n}.sha256`, `${n}.json`]) expect(left).toContain(f);
      expect(left).toContain('teacher-20200101T000000Z.dump');
      expect(left).toContain(`${names[0]}.partial`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('metrics for the Pushgateway', () => {
  it('a success carries all five gauges; a failure leaves last success and size out (POST keeps the old ones)', () => {
    const endedAt = new Date('2026-11-24T02:00:10Z');
    const ok = metricsText({ ok: true, endedAt, durationSeconds: 9.5, sizeBytes: 12345 });
    expect(ok).toContain('backup_last_success_timestamp_seconds 1795485610\n');
    expect(ok).toContain('backup_last_run_timestamp_seconds 1795485610\n');
    expect(ok).toContain('backup_last_duration_seconds 9.5\n');
    expect(ok).toContain('backup_last_size_bytes 12345\n');
    expect(ok).toContain('backup_last_status 1\n');
    expect(ok).toContain('# TYPE backup_last_status gauge\n');
    const failed = metricsText({ ok: false, endedAt, durationSeconds: 2 });
    expect(failed).toContain('backup_last_status 0\n');
    expect(failed).not.toMatch(/backup_last_success_timestamp_seconds \d/);
    expect(failed).not.toMatch(/backup_last_size_bytes \d/);
  });

  it('groups by job, namespace, service and database in the push URL', () => {
    expect(pushUrl('http://pushgateway:9091/', { namespace: 'courseops', service: 'course', database: 'course' })).toBe(
      'http://pushgateway:9091/metrics/job/courseops-backup/namespace/courseops/service/course/database/course',
    );
  });
});
