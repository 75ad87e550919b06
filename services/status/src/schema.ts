import { sql } from 'drizzle-orm';
import { bigint, boolean, check, index, integer, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

/** What a probe found, worst last (API.md "Status service"). */
export const serviceStates = ['operational', 'degraded', 'down'] as const;
export type ServiceState = (typeof serviceStates)[number];

/** One readiness probe of one target; the history that uptime is computed from. */
export const probes = pgTable(
  'probes',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    target: text('target').notNull(),
    at: timestamp('at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    /** Counted as up for uptime: the target answered ready (operational or degraded). */
    ok: boolean('ok').notNull(),
    status: text('status').$type<ServiceState>().notNull(),
    latencyMs: integer('latency_ms').notNull(),
    /** null when no HTTP answer came (refused, timeout). */
    httpStatus: integer('http_status'),
    error: text('error'),
  },
  (t) => [
    // Latest probe per target and uptime windows per target.
    index('probes_target_at_idx').on(t.target, t.at),
    // Pruning old history across targets.
    index('probes_at_idx').on(t.at),
    check('probes_status_check', sql`${t.status} in ('operational', 'degraded', 'down')`),
  ],
);

/** The severity label value (our alert rules use critical and warning) that is never shed and always shown first. */
export const criticalSeverity = 'critical';

/** An Alertmanager alert shown on the page; open while resolvedAt is null. */
export const incidents = pgTable(
  'incidents',
  {
    id: uuid('id').primaryKey(),
    /** Alertmanager's fingerprint: the same alert firing again is the same incident. */
    fingerprint: text('fingerprint').notNull(),
    title: text('title').notNull(),
    severity: text('severity').notNull(),
    startedAt: timestamp('started_at', { withTimezone: true, precision: 3 }).notNull(),
    resolvedAt: timestamp('resolved_at', { withTimezone: true, precision: 3 }),
  },
  (t) => [
    // At most one open incident per alert, even when two notifications race.
    uniqueIndex('incidents_open_fingerprint_idx').on(t.fingerprint).where(sql`${t.resolvedAt} is null`),
    index('incidents_resolved_at_idx').on(t.resolvedAt),
    // Open incidents by start, both ways: newest first for the page, oldest first for shedding. Partial, so
    // it stays as small as the open set (bounded) however many resolved incidents pile up.
    index('incidents_open_started_at_idx').on(t.startedAt, t.id).where(sql`${t.resolvedAt} is null`),
  ],
);

export const schema = { probes, incidents };
export type ProbeRow = typeof probes.$inferSelect;
export type NewProbe = typeof probes.$inferInsert;
export type IncidentRow = typeof incidents.$inferSelect;
