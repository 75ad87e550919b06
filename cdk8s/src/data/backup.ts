/**
 * Backups of each service's PostgreSQL (issue 7): per database a backup volume, a nightly CronJob that
 * runs the backup logic of scripts/backup (dump, checksum, verification by a scratch restore, rotation,
 * metrics to the Pushgateway) in the `courseops/backup` image, its NetworkPolicy, and the backup alerts.
 * The same logic runs on a laptop against any PostgreSQL URL (`npm run backup -- <service> --database-url
 * ... --dir ...`); in the cluster `npm run backup|restore` start Jobs from this CronJob (scripts/backup/cluster.ts).
 */
import { Construct } from 'constructs';
import { BACKUP_METRICS } from '../../../services/kit/src/contract.js';
import * as k8s from '../k8s.js';
import { resourceRequirements } from '../resources.js';
import { appLabels, selectorLabels } from '../labels.js';
import type { MixinContext, ServiceMixin } from '../microservice/mixin.js';
import { rulesObject, selector, type AlertingRule, type RuleGroup } from '../monitoring/rules.js';
import { hasExternalDatabase, imageOf } from '../config.js';
import { ns } from '../namespaces.js';
import { AllowPolicy } from '../networking/policies.js';
import { hardenPodSpec } from '../security/hardening.js';
import { volumeClaimSpec } from '../storage.js';
import { POSTGRES_PORT, POSTGRES_RUN_AS, serviceDatabase } from './postgresql.js';
import type { BackupOptions } from '../services.js';
import { PUSHGATEWAY, pushgatewayPodLabels, pushgatewayUrl } from '../helm/releases/prometheus-pushgateway.js';

export const BACKUP_MIXIN = 'backup';
/** Where the backup volume is mounted in the backup and restore Jobs. */
export const BACKUP_MOUNT_PATH = '/backups';

/** Last good backup older than this fires BackupTooOld: a nightly schedule plus 2 h for a slow or retried run. */
export const BACKUP_MAX_AGE_HOURS = 26;

export interface BackupNames {
  readonly cronJob: string;
  readonly pvc: string;
  readonly policy: string;
  readonly rules: string;
  readonly group: string;
  readonly mountPath: string;
  /** Labels of the backup and restore pods (the database's policy admits them). */
  readonly podLabels: Readonly<Record<string, string>>;
}

export function backupNames(service: string): BackupNames {
  return {
    cronJob: `${service}-backup`,
    pvc: `${service}-backups`,
    policy: `${service}-backup`,
    rules: `${service}-backup-rules`,
    group: `${service}-backup`,
    mountPath: BACKUP_MOUNT_PATH,
    podLabels: selectorLabels({ name: 'backup', instance: `${service}-backup` }),
  };
}

export const backupResources = { requests: { cpu: '50m', memory: '128Mi' }, limits: { cpu: '500m', memory: '512Mi' } } as const;

const q = (v: string) => k8s.Quantity.fromString(v);

/** Nightly at 02:00 UTC plus 10 minutes per service position (02:00, 02:10, 02:20...). */
export function defaultSchedule(ctx: Pick<MixinContext, 'decl' | 'all'>): string {
  const position = Math.max(0, ctx.all.filter((s) => s.database).findIndex((s) => s.name === ctx.decl.name));
  const minutes = 10 * position;
  return `${minutes % 60} ${2 + Math.floor(minutes / 60)} * * *`;
}

export class DatabaseBackup extends Construct {
  constructor(scope: Construct, id: string, ctx: MixinContext, options: BackupOptions = {}) {
    super(scope, id);
    const service = ctx.decl.name;
    const namespace = ctx.namespace;
    const names = backupNames(service);
    const db = serviceDatabase(service, namespace);
    const database = db.name;
    const labels = { ...appLabels({ name: 'backup', instance: names.cronJob, component: 'backup' }), 'courseops.dev/owner': service };

    new k8s.KubePersistentVolumeClaim(this, 'Volume', {
      metadata: { name: names.pvc, namespace, labels },
      spec: volumeClaimSpec(ctx.config, options.storage ?? '2Gi'),
    });

    const podSpec = hardenPodSpec(
      {
        restartPolicy: 'Never',
        containers: [
          {
            name: 'backup',
            image: imageOf(ctx.config, 'backup'),
            imagePullPolicy: 'IfNotPresent',
            args: ['backup', service, '--dir', BACKUP_MOUNT_PATH, '--push-url', pushgatewayUrl(), '--namespace', namespace],
            env: [
              ...db.clientEnv,
              // node and psql want a writable home; the root filesystem is read-only.
              { name: 'HOME', value: '/tmp' },
            ],
            resources: resourceRequirements(backupResources),
            volumeMounts: [
              { name: 'backups', mountPath: BACKUP_MOUNT_PATH },
              { name: 'tmp', mountPath: '/tmp' },
            ],
          },
        ],
        volumes: [
          { name: 'backups', persistentVolumeClaim: { claimName: names.pvc } },
          { name: 'tmp', emptyDir: { sizeLimit: q('64Mi') } },
        ],
      },
      // The postgres user of the image the backup image is built from: files on the volume belong to it.
      POSTGRES_RUN_AS,
    );

    new k8s.KubeCronJob(this, 'CronJob', {
      metadata: { name: names.cronJob, namespace, labels },
      spec: {
        schedule: options.schedule ?? defaultSchedule(ctx),
        timeZone: 'Etc/UTC',
        // Never two runs on the same volume and database; a run missed by more than an hour is skipped (the next night runs).
        concurrencyPolicy: 'Forbid',
        startingDeadlineSeconds: 3600,
        successfulJobsHistoryLimit: 3,
        failedJobsHistoryLimit: 3,
        jobTemplate: {
          metadata: { labels },
          spec: {
            backoffLimit: 1,
            activeDeadlineSeconds: 3600,
            template: { metadata: { labels }, spec: podSpec },
          },
        },
      },
    });

    new AllowPolicy(this, 'Policy', {
      namespace,
      name: names.policy,
      podLabels: names.podLabels,
      labels,
      ingress: [],
      egress: [
        { peers: [{ namespace, podLabels: db.selector }], ports: [POSTGRES_PORT], why: `dumps and restores ${database}` },
        { peers: [{ namespace: PUSHGATEWAY.namespace, podLabels: pushgatewayPodLabels }], ports: [PUSHGATEWAY.port], why: 'pushes the backup metrics to the Pushgateway' },
      ],
    });

    // NetworkPolicies add up: this one opens the database to its backup pods, beside the database's own policy.
    new AllowPolicy(this, 'DatabasePolicy', {
      namespace,
      name: `${database}-from-backup`,
      podLabels: db.selector,
      labels,
      ingress: [{ peers: [{ namespace, podLabels: names.podLabels }], ports: [POSTGRES_PORT], why: `the backup and restore Jobs of ${service} use its database` }],
    });

    rulesObject(this, 'PrometheusRule', {
      name: names.rules,
      namespace,
      labels: appLabels({ name: service, instance: service, component: 'monitoring' }),
      groups: backupRuleGroups(service, namespace),
    });
  }
}

/**
 * The backup alerts of one service (group `<service>-backup`). The metrics come through the Pushgateway
 * with honorLabels: `namespace`, `service` and `database` are the pushed grouping key (scripts/backup/metrics.ts).
 * Both alerts are warnings: a missing backup hurts nobody yet, it widens the window of data a lost volume
 * would take with it (one more day per missed night) and is fixed by re-running the job in working
 * hours; pages (critical) are for user-facing outages.
 */
export function backupRuleGroups(service: string, namespace: string): RuleGroup[] {
  const sel = selector({ namespace, service });
  const maxAge = BACKUP_MAX_AGE_HOURS * 3600;
  const labels = { severity: 'warning' as const, service, namespace };
  const lastSuccess = `${BACKUP_METRICS.lastSuccess}${sel}`;
  const rules: AlertingRule[] = [
    {
      alert: 'BackupTooOld',
      expr: `time() - max by (namespace, service, database) (${lastSuccess}) > ${maxAge}`,
      for: '10m',
      // `reason` tells the two BackupTooOld rules apart (promtool rejects two rules with the same name and labels).
      labels: { ...labels, reason: 'stale' },
      annotations: {
        summary: `${service}'s last good backup is older than ${BACKUP_MAX_AGE_HOURS} hours`,
        description: `The last verified backup of {{ $labels.database }} (${service}) is {{ $value | humanizeDuration }} old (limit ${BACKUP_MAX_AGE_HOURS}h): the nightly backup did not succeed.`,
      },
    },
    {
      // Never succeeded (a new cluster whose first runs fail) or the Pushgateway lost its data: no series at all for as long as a backup may take to come.
      alert: 'BackupTooOld',
      expr: `absent(${lastSuccess})`,
      for: `${BACKUP_MAX_AGE_HOURS}h`,
      labels: { ...labels, reason: 'missing' },
      annotations: {
        summary: `${service} has no successful backup on record`,
        description: `No ${BACKUP_METRICS.lastSuccess} series for ${service} in namespace {{ $labels.namespace }} for ${BACKUP_MAX_AGE_HOURS} hours: no backup has succeeded since the Pushgateway started.`,
      },
    },
    {
      alert: 'BackupFailed',
      expr: `max by (namespace, service, database) (${BACKUP_METRICS.status}${sel}) == 0`,
      labels,
      annotations: {
        summary: `The last backup run of ${service} failed`,
        description: `The last backup run of {{ $labels.database }} (${service}) failed (${BACKUP_METRICS.status} {{ $value }}); earlier backups are kept. The job's log says which step failed.`,
      },
    },
  ];
  return [{ name: backupNames(service).group, rules }];
}

/**
 * Backups of the service's database: in `defaultMixins()`; a service without `database` gets nothing.
 * Self-contained: the policy that admits the backup pods to the database comes with it, so a service
 * that replaces or drops this mixin leaves no opening behind.
 */
export const backupMixin = (): ServiceMixin => ({
  name: BACKUP_MIXIN,
  apply(ctx) {
    // An external database is backed up by its provider (README "Production cluster").
    if (!ctx.decl.database || hasExternalDatabase(ctx)) return;
    new DatabaseBackup(ctx.scope, 'Backup', ctx, ctx.decl.database.backup);
  },
});
