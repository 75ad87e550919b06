import { randomUUID } from 'node:crypto';
import { text, type Database } from '@courseops/kit';
import { and, eq, isNull, sql } from 'drizzle-orm';
import { z } from 'zod';
import { keepOpenIncidentsBounded, lockIncidentRecording, type BoundResult } from './incidentBound.js';
import { incidents, type schema } from './schema.js';

// Values end up in the database and on the page: no NUL, well-formed; the 16 KiB body limit bounds the rest.
// A leading U+FEFF is kept, not refused: refusing would make Alertmanager drop a whole notification for one
// odd label value, while at worst PGlite (`npm run dev` only) shows it without its first character.
const labelSet = z.record(z.string(), text(0, 16_384, { allowLeadingBom: true }));

/**
 * The times a timestamptz column round-trips exactly on both drivers, written with `Date.toISOString()`
 * and read back through drizzle's `new Date(text)`. Measured on PostgreSQL 15 and PGlite 0.5 with the
 * session in UTC (their default here): year 0 and negative years are refused by the server, years past
 * 9999 (`+010000-…`) too (a 500 before this check); years 1–99 are stored but read back as 19xx/20xx,
 * because V8 parses the server's `0050-06-01 12:00:00+00` as 1950. Times before 1970 are fine.
 */
export const storableTimes = { min: new Date('0100-01-01T00:00:00.000Z'), max: new Date('9999-12-31T23:59:59.999Z') } as const;

/** Go's zero time, which Alertmanager sends for a time it has not set (endsAt of a firing alert). */
const goZeroTime = Date.parse('0001-01-01T00:00:00Z');

/** An RFC 3339 time in the storable range, or null for Go's zero time ("not set"). Offsets count: `9999-12-31T23:59:59-23:59` is year 10000. */
const alertTime = z.iso
  .datetime({ offset: true, message: 'must be an RFC 3339 time' })
  .transform((s) => new Date(s))
  .refine((d) => d.getTime() === goZeroTime || (d >= storableTimes.min && d <= storableTimes.max), {
    message: `must be between ${storableTimes.min.toISOString()} and ${storableTimes.max.toISOString()} (or 0001-01-01T00:00:00Z for "not set")`,
  })
  .transform((d) => (d.getTime() === goZeroTime ? null : d));

/** One alert of an Alertmanager webhook notification. Unknown fields are kept out, not refused: Alertmanager adds some over time. */
export const alertSchema = z.looseObject({
  status: z.enum(['firing', 'resolved']),
  labels: labelSet,
  annotations: labelSet,
  startsAt: alertTime,
  endsAt: alertTime,
  generatorURL: z.string(),
  fingerprint: text(1, 256),
});
export type Alert = z.infer<typeof alertSchema>;

/** Alertmanager's webhook payload, version 4 (the only version it has sent since 0.x). */
export const webhookSchema = z.looseObject({
  version: z.literal('4'),
  groupKey: z.string(),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string(),
  groupLabels: labelSet,
  commonLabels: labelSet,
  commonAnnotations: labelSet,
  externalURL: z.string(),
  alerts: z.array(alertSchema),
});
export type WebhookPayload = z.infer<typeof webhookSchema>;

const maxTitleLength = 200;
const maxSeverityLength = 40;

/** Cuts on code points, so a surrogate pair is never split. */
const clip = (s: string, max: number) => Array.from(s).slice(0, max).join('');

export const incidentTitle = (alert: Alert) =>
  clip(alert.annotations.summary?.trim() || alert.labels.alertname?.trim() || `Alert ${alert.fingerprint}`, maxTitleLength);

export const incidentSeverity = (alert: Alert) => clip(alert.labels.severity?.trim() || 'warning', maxSeverityLength);

export interface RecordResult {
  opened: number;
  resolved: number;
  /** What keeping the open-incident bound did; undefined when nothing was opened, so nothing was checked. */
  bound: BoundResult | undefined;
}

/**
 * Applies a notification's alerts in one transaction: a firing alert opens an incident unless one is
 * already open for its fingerprint (repeats are idempotent, and the partial unique index makes that hold
 * under concurrent notifications too); a resolved alert closes the open one at its end time. When it opened
 * any, the open set is brought back within `maxOpenIncidents` in the same transaction.
 */
export async function recordAlerts(database: Database<typeof schema>, alerts: Alert[], maxOpenIncidents: number): Promise<RecordResult> {
  if (alerts.length === 0) return { opened: 0, resolved: 0, bound: undefined };
  return database.query('record_alerts', (db) =>
    db.transaction(async (tx) => {
      if (alerts.some((a) => a.status === 'firing')) await lockIncidentRecording(tx);
      let opened = 0;
      let resolved = 0;
      for (const alert of alerts) {
        if (alert.status === 'firing') {
          const inserted = await tx
            .insert(incidents)
            .values({
              id: randomUUID(),
              fingerprint: alert.fingerprint,
              title: incidentTitle(alert),
              severity: incidentSeverity(alert),
              startedAt: alert.startsAt ?? new Date(),
            })
            .onConflictDoNothing({ target: incidents.fingerprint, where: isNull(incidents.resolvedAt) })
            .returning({ id: incidents.id });
          opened += inserted.length;
        } else {
          const endedAt = (alert.endsAt ?? new Date()).toISOString();
          const closed = await tx
            .update(incidents)
            // An incident never ends before it started, whatever the clocks said.
            .set({ resolvedAt: sql`greatest(${incidents.startedAt}, ${endedAt}::timestamptz)` })
            .where(and(eq(incidents.fingerprint, alert.fingerprint), isNull(incidents.resolvedAt)))
            .returning({ id: incidents.id });
          resolved += closed.length;
        }
      }
      const bound = opened > 0 ? await keepOpenIncidentsBounded(tx, maxOpenIncidents) : undefined;
      return { opened, resolved, bound };
    }),
  );
}
