import { randomUUID } from 'node:crypto';
import { text, type Database } from '@courseops/kit';
import { and, eq, isNull, sql } from 'drizzle-orm';
import { z } from 'zod';
import { incidents, type schema } from './schema.js';

// Values end up in the database and on the page: no NUL, well-formed; the 16 KiB body limit bounds the rest.
const labelSet = z.record(z.string(), text(0, 16_384));
const timestamp = z.iso.datetime({ offset: true, message: 'must be an RFC 3339 time' }).transform((s) => new Date(s));

/** One alert of an Alertmanager webhook notification. Unknown fields are kept out, not refused: Alertmanager adds some over time. */
export const alertSchema = z.looseObject({
  status: z.enum(['firing', 'resolved']),
  labels: labelSet,
  annotations: labelSet,
  startsAt: timestamp,
  endsAt: timestamp,
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

/** Go's zero time (0001-01-01) means "not set" in Alertmanager payloads. */
const isSet = (d: Date) => d.getUTCFullYear() > 1970;

export const incidentTitle = (alert: Alert) =>
  clip(alert.annotations.summary?.trim() || alert.labels.alertname?.trim() || `Alert ${alert.fingerprint}`, maxTitleLength);

export const incidentSeverity = (alert: Alert) => clip(alert.labels.severity?.trim() || 'warning', maxSeverityLength);

/**
 * Applies a notification's alerts in one transaction: a firing alert opens an incident unless one is
 * already open for its fingerprint (repeats are idempotent, and the partial unique index makes that hold
 * under concurrent notifications too); a resolved alert closes the open one at its end time.
 */
export async function recordAlerts(database: Database<typeof schema>, alerts: Alert[]): Promise<{ opened: number; resolved: number }> {
  if (alerts.length === 0) return { opened: 0, resolved: 0 };
  return database.query('record_alerts', (db) =>
    db.transaction(async (tx) => {
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
              startedAt: isSet(alert.startsAt) ? alert.startsAt : new Date(),
            })
            .onConflictDoNothing({ target: incidents.fingerprint, where: isNull(incidents.resolvedAt) })
            .returning({ id: incidents.id });
          opened += inserted.length;
        } else {
          const endedAt = (isSet(alert.endsAt) ? alert.endsAt : new Date()).toISOString();
          const closed = await tx
            .update(incidents)
            // An incident never ends before it started, whatever the clocks said.
            .set({ resolvedAt: sql`greatest(${incidents.startedAt}, ${endedAt}::timestamptz)` })
            .where(and(eq(incidents.fingerprint, alert.fingerprint), isNull(incidents.resolvedAt)))
            .returning({ id: incidents.id });
          resolved += closed.length;
        }
      }
      return { opened, resolved };
    }),
  );
}
