import type { Database, Logger } from '@courseops/kit';
import { lt } from 'drizzle-orm';
import type { Counter } from 'prom-client';
import type { Target } from './config.js';
import { probe, type ProbeOptions, type ProbeResult } from './probe.js';
import { probes, type schema, type ServiceState } from './schema.js';

/** History kept: the 30-day uptime window plus a margin, so the window is always full. */
export const retentionMs = 35 * 24 * 3600 * 1000;
/** Pruning needs no more than hourly: one hour of extra rows is nothing next to 35 days. */
const pruneEveryMs = 3600 * 1000;

export interface ProberOptions {
  targets: Target[];
  intervalMs: number;
  probe: ProbeOptions;
}

export interface ProberDeps {
  database: Database<typeof schema>;
  logger: Logger;
  /** status_probe_total{target,result} */
  probeCounter: Counter<'target' | 'result'>;
  /** Called after each recorded round, so cached reports are recomputed. */
  onRecorded: () => void;
}

export type ProbeRound = (ProbeResult & { target: string })[];

/**
 * Probes every target each interval and records the results. Rounds never overlap: the next one is
 * scheduled (setTimeout, not setInterval) only when the previous one has finished, and rounds asked for
 * directly (`runRound`) queue behind the running one.
 */
export class Prober {
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  private queue: Promise<unknown> = Promise.resolve();
  private lastPrunedAt = 0;
  private readonly lastState = new Map<string, ServiceState>();

  constructor(
    private readonly options: ProberOptions,
    private readonly deps: ProberDeps,
  ) {}

  /** Starts the schedule; the first round starts at once (before any round asked for after this call). */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.runScheduledRound();
  }

  /** Stops the schedule and waits for a running round, so the database is not closed under it. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.queue;
  }

  get running(): boolean {
    return !this.stopped;
  }

  /** Probes every target once and records the results (after any round already running). */
  runRound(): Promise<ProbeRound> {
    const round = this.queue.then(() => this.probeAndRecord());
    this.queue = round.catch(() => undefined);
    return round;
  }

  private runScheduledRound(): void {
    const startedAt = Date.now();
    this.runRound()
      .catch((err) => this.deps.logger.warn('probe round failed', { err }))
      // Keep the cadence: a round's own duration counts towards the interval.
      .finally(() => this.scheduleIn(Math.max(0, this.options.intervalMs - (Date.now() - startedAt))));
  }

  private scheduleIn(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => this.runScheduledRound(), delayMs);
    // The HTTP server keeps the process alive; the probe timer alone should not.
    this.timer.unref();
  }

  private async probeAndRecord(): Promise<ProbeRound> {
    const { targets } = this.options;
    if (targets.length === 0) return [];
    const round = await Promise.all(targets.map(async (t) => ({ target: t.name, ...(await probe(t, this.options.probe)) })));
    await this.deps.database.query('insert_probes', (db) =>
      db.insert(probes).values(
        round.map((r) => ({ target: r.target, ok: r.status !== 'down', status: r.status, latencyMs: r.latencyMs, httpStatus: r.httpStatus, error: r.error })),
      ),
    );
    for (const r of round) {
      this.deps.probeCounter.inc({ target: r.target, result: r.status });
      this.logStateChange(r);
    }
    await this.pruneWhenDue();
    this.deps.onRecorded();
    return round;
  }

  private logStateChange(r: ProbeRound[number]): void {
    const previous = this.lastState.get(r.target);
    this.lastState.set(r.target, r.status);
    if (previous === r.status) return;
    const fields = { 'status.target': r.target, 'status.from': previous ?? 'unknown', 'status.to': r.status, 'status.error': r.error ?? undefined };
    const message = `target ${r.target} is ${r.status}`;
    if (r.status === 'operational') this.deps.logger.info(message, fields);
    else this.deps.logger.warn(message, fields);
  }

  private async pruneWhenDue(): Promise<void> {
    if (Date.now() - this.lastPrunedAt >= pruneEveryMs) await this.prune();
  }

  /** Deletes probes older than the retention; returns how many. */
  async prune(): Promise<number> {
    const cutoff = new Date(Date.now() - retentionMs);
    const deleted = await this.deps.database.query('prune_probes', (db) => db.delete(probes).where(lt(probes.at, cutoff)).returning({ id: probes.id }));
    this.lastPrunedAt = Date.now();
    return deleted.length;
  }
}
