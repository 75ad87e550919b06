import type { Database } from '@courseops/kit';
import { and, desc, eq, gt, inArray, isNotNull, isNull, ne, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Target } from './config.js';
import { criticalSeverity, incidents, probes, serviceStates, type IncidentRow, type schema, type ServiceState } from './schema.js';

const serviceState = z.enum(serviceStates);
/** Share of probes that found the service up, 0..1; null when no probe fell in the window. */
const uptimeRatio = z.number().min(0).max(1).nullable();

export const incidentSchema = z.object({
  title: z.string(),
  severity: z.string(),
  startedAt: z.iso.datetime(),
  resolvedAt: z.iso.datetime().nullable(),
});
export type Incident = z.infer<typeof incidentSchema>;

export const serviceStatusSchema = z.object({
  name: z.string(),
  status: serviceState,
  uptime: z.object({ '24h': uptimeRatio, '7d': uptimeRatio, '30d': uptimeRatio }),
  latencyMs: z.number().nullable(),
});
export type ServiceStatus = z.infer<typeof serviceStatusSchema>;
export type UptimeWindow = keyof ServiceStatus['uptime'];

/** The body of GET /api/status (API.md "Status service"); `/openapi.json` documents this schema. */
export const statusReportSchema = z.object({
  status: serviceState,
  services: z.array(serviceStatusSchema),
  incidents: z.array(incidentSchema),
  generatedAt: z.iso.datetime(),
});
export type StatusReport = z.infer<typeof statusReportSchema>;

/** Resolved incidents shown after the open ones. */
const recentResolvedIncidents = 20;
/**
 * Open non-critical incidents shown (newest first): an alert storm must not make the page unbounded. Open
 * criticals are all shown, before these; their number is bounded by what Alertmanager reports, as they are
 * never shed (MAX_OPEN_INCIDENTS bounds the rest).
 */
const shownOpenNonCritical = 100;
/** How long a computed report is served again while nothing was recorded (the uptime windows slide slowly). */
const defaultMaxAgeMs = 5000;

/** The worst of some states; nothing to look at counts as operational. */
export const worstState = (states: ServiceState[]): ServiceState =>
  states.reduce<ServiceState>((worst, s) => (serviceStates.indexOf(s) > serviceStates.indexOf(worst) ? s : worst), 'operational');

// One ratio per window, aggregated in the database: the fraction of ok probes among those in the window.
const uptimeIn = (interval: '1 day' | '7 days' | '30 days') =>
  sql<number | null>`(avg(${probes.ok}::int) filter (where ${probes.at} > now() - ${sql.raw(`interval '${interval}'`)}))::float8`;

/**
 * Computes the status report from the probe history and incidents. The page and the JSON share one
 * computation, cached until the next recorded probe round or incident change (or a few seconds), so a
 * busy public page costs one aggregation per round, not one per visitor.
 */
export class StatusReporter {
  private cached: { at: number; report: Promise<StatusReport> } | undefined;

  constructor(
    private readonly database: Database<typeof schema>,
    private readonly targets: Target[],
    private readonly maxAgeMs = defaultMaxAgeMs,
  ) {}

  /** Something the report shows has changed: the next report is computed afresh. */
  invalidate(): void {
    this.cached = undefined;
  }

  report(): Promise<StatusReport> {
    if (this.cached && Date.now() - this.cached.at < this.maxAgeMs) return this.cached.report;
    const report = this.compute();
    const cached = { at: Date.now(), report };
    this.cached = cached;
    // A failed computation (database down) is not served to the next caller.
    report.catch(() => {
      if (this.cached === cached) this.cached = undefined;
    });
    return report;
  }

  private async compute(): Promise<StatusReport> {
    const names = this.targets.map((t) => t.name);
    const [uptimes, latest, recentIncidents] = await Promise.all([this.uptimes(names), this.latestProbes(names), this.incidents()]);
    const services = names.map((name): ServiceStatus => {
      const last = latest.get(name);
      const uptime = uptimes.get(name);
      return {
        name,
        // Never probed yet: we cannot say it is up.
        status: last?.status ?? 'down',
        uptime: { '24h': uptime?.day ?? null, '7d': uptime?.week ?? null, '30d': uptime?.month ?? null },
        latencyMs: last?.latencyMs ?? null,
      };
    });
    return {
      status: worstState(services.map((s) => s.status)),
      services,
      incidents: recentIncidents,
      generatedAt: new Date().toISOString(),
    };
  }

  private async uptimes(names: string[]) {
    if (names.length === 0) return new Map<string, { day: number | null; week: number | null; month: number | null }>();
    const rows = await this.database.query('uptime', (db) =>
      db
        .select({ target: probes.target, day: uptimeIn('1 day'), week: uptimeIn('7 days'), month: uptimeIn('30 days') })
        .from(probes)
        .where(and(inArray(probes.target, names), gt(probes.at, sql`now() - interval '30 days'`)))
        .groupBy(probes.target),
    );
    return new Map(rows.map((r) => [r.target, { day: toRatio(r.day), week: toRatio(r.week), month: toRatio(r.month) }]));
  }

  /** The newest probe of each target: one indexed lookup per target (a handful), not a scan of the history. */
  private async latestProbes(names: string[]) {
    const rows = await this.database.query('latest_probes', (db) =>
      Promise.all(
        names.map((name) =>
          db
            .select({ target: probes.target, status: probes.status, latencyMs: probes.latencyMs, httpStatus: probes.httpStatus })
            .from(probes)
            .where(eq(probes.target, name))
            .orderBy(desc(probes.at), desc(probes.id))
            .limit(1),
        ),
      ),
    );
    return new Map(
      rows.flat().map((r) => [
        r.target,
        // Without an HTTP answer (refused, timed out) there is no response time to show.
        { status: r.status, latencyMs: r.httpStatus === null ? null : r.latencyMs },
      ]),
    );
  }

  /**
   * Every open critical incident, then the other open ones, each newest first, then the most recently
   * resolved ones. The criticals come first and on their own query, so no number of open warnings can push
   * one off the page.
   */
  private async incidents(): Promise<Incident[]> {
    const open = isNull(incidents.resolvedAt);
    const newestFirst = [desc(incidents.startedAt), desc(incidents.id)];
    const [critical, other, resolved] = await this.database.query('recent_incidents', (db) =>
      Promise.all([
        db.select().from(incidents).where(and(open, eq(incidents.severity, criticalSeverity))).orderBy(...newestFirst),
        db
          .select()
          .from(incidents)
          .where(and(open, ne(incidents.severity, criticalSeverity)))
          .orderBy(...newestFirst)
          .limit(shownOpenNonCritical),
        db
          .select()
          .from(incidents)
          .where(isNotNull(incidents.resolvedAt))
          .orderBy(desc(incidents.resolvedAt), desc(incidents.id))
          .limit(recentResolvedIncidents),
      ]),
    );
    return [...critical, ...other, ...resolved].map(toIncident);
  }
}

const toIncident = (row: IncidentRow): Incident => ({
  title: row.title,
  severity: row.severity,
  startedAt: row.startedAt.toISOString(),
  resolvedAt: row.resolvedAt?.toISOString() ?? null,
});

// float8 arrives as a number from both drivers; tolerate a string in case a driver's parser differs.
const toRatio = (v: number | string | null): number | null => (v === null ? null : Number(v));
