import type { Db } from '@courseops/kit';
import { and, asc, inArray, isNull, ne, sql } from 'drizzle-orm';
import { criticalSeverity, incidents, type schema } from './schema.js';

/** The transaction recordAlerts runs in. */
export type Transaction = Parameters<Parameters<Db<typeof schema>['transaction']>[0]>[0];

/** What keeping the bound did: how many incidents were shed, and how many stay open (criticals among them). */
export interface BoundResult {
  shed: number;
  open: number;
  openCritical: number;
}

// Any constant of its own: advisory locks are per database, and the migrator's lock (kit) uses another.
const recordingLockKey = 7_244_514;

/**
 * Serializes the transactions that open incidents, so two concurrent notifications cannot each count the
 * open set below the bound and together end above it. Held until the transaction ends.
 */
export async function lockIncidentRecording(tx: Transaction): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(${recordingLockKey})`);
}

/**
 * Keeps at most `maxOpen` incidents open by shedding the oldest non-critical ones (oldest start first).
 * Shedding deletes the row: the page then says nothing about that alert, rather than something false
 * (marking it resolved would claim a recovery nobody saw). If the alert is still firing, Alertmanager's next
 * notification brings it back with its own start time, and it is shed again only if it is still the oldest.
 * A critical incident is never shed: when criticals alone exceed the bound, every non-critical one is shed
 * and the criticals all stay, over the bound (the caller warns about it).
 * Runs inside the recording transaction, so a notification and its shedding commit or fail together.
 */
export async function keepOpenIncidentsBounded(tx: Transaction, maxOpen: number): Promise<BoundResult> {
  const [counts] = await tx
    .select({
      open: sql<number>`count(*)::int`,
      openCritical: sql<number>`(count(*) filter (where ${incidents.severity} = ${criticalSeverity}))::int`,
    })
    .from(incidents)
    .where(isNull(incidents.resolvedAt));
  const { open, openCritical } = { open: Number(counts!.open), openCritical: Number(counts!.openCritical) };
  const excess = open - maxOpen;
  if (excess <= 0) return { shed: 0, open, openCritical };
  const oldestNonCritical = tx
    .select({ id: incidents.id })
    .from(incidents)
    .where(and(isNull(incidents.resolvedAt), ne(incidents.severity, criticalSeverity)))
    .orderBy(asc(incidents.startedAt), asc(incidents.id))
    .limit(excess);
  const shed = await tx.delete(incidents).where(inArray(incidents.id, oldestNonCritical)).returning({ id: incidents.id });
  return { shed: shed.length, open: open - shed.length, openCritical };
}
