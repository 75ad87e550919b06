/**
 * The outcome of a backup run as Prometheus metrics, pushed to the Pushgateway (a batch job has no
 * /metrics endpoint that lives long enough to be scraped).
 *
 * Grouping key: job `courseops-backup`, namespace, service, database. The ServiceMonitor of the
 * Pushgateway uses honorLabels, so these labels are the series' labels, not the Pushgateway's own.
 *
 * A success pushes all five metrics; a failure pushes only the run time, duration and status 0, with
 * POST (which replaces only the metrics named in the body): the last success time and size survive a
 * failed run, so BackupTooOld keeps counting from the last good backup.
 */

import { BACKUP_METRICS, BACKUP_PUSH_JOB } from '../../services/kit/src/contract.js';

const HELP: Record<string, string> = {
  [BACKUP_METRICS.lastSuccess]: 'Time of the last backup that was dumped, verified by a scratch restore and published.',
  [BACKUP_METRICS.lastRun]: 'Time the last backup run ended, successful or not.',
  [BACKUP_METRICS.duration]: 'Duration of the last backup run (dump, checksum, verification, rotation).',
  [BACKUP_METRICS.size]: 'Size of the last successful backup file.',
  [BACKUP_METRICS.status]: 'Outcome of the last backup run: 1 success, 0 failure.',
};

export interface BackupOutcome {
  readonly ok: boolean;
  readonly endedAt: Date;
  readonly durationSeconds: number;
  /** Size of the backup file, on success. */
  readonly sizeBytes?: number;
}

/** Prometheus text exposition format 0.0.4; no labels in the body (they are the grouping key). */
export function metricsText(outcome: BackupOutcome): string {
  const seconds = outcome.endedAt.getTime() / 1000;
  const values: [string, number][] = [
    [BACKUP_METRICS.lastRun, seconds],
    [BACKUP_METRICS.duration, Number(outcome.durationSeconds.toFixed(3))],
    [BACKUP_METRICS.status, outcome.ok ? 1 : 0],
  ];
  if (outcome.ok) {
    values.push([BACKUP_METRICS.lastSuccess, seconds]);
    if (outcome.sizeBytes !== undefined) values.push([BACKUP_METRICS.size, outcome.sizeBytes]);
  }
  return values.map(([name, v]) => `# HELP ${name} ${HELP[name]}\n# TYPE ${name} gauge\n${name} ${v}\n`).join('');
}

export interface Grouping {
  readonly namespace: string;
  readonly service: string;
  readonly database: string;
}

/** `<base>/metrics/job/<job>/namespace/<ns>/service/<svc>/database/<db>` (values URL-encoded). */
export function pushUrl(base: string, grouping: Grouping): string {
  const parts = ['job', BACKUP_PUSH_JOB, 'namespace', grouping.namespace, 'service', grouping.service, 'database', grouping.database];
  return `${base.replace(/\/+$/, '')}/metrics/${parts.map(encodeURIComponent).join('/')}`;
}

/** POSTs the metrics; throws on a non-2xx answer or a network error (the caller decides whether that fails the job). */
export async function pushMetrics(base: string, grouping: Grouping, outcome: BackupOutcome, timeoutMs = 10_000): Promise<void> {
  const res = await fetch(pushUrl(base, grouping), {
    method: 'POST',
    headers: { 'content-type': 'text/plain; version=0.0.4' },
    body: metricsText(outcome),
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!res.ok) throw new Error(`Pushgateway answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
}
