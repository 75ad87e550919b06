import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BACKUP_METRICS } from '../../services/kit/src/contract.js';
import { buildPlatform } from '../src/app.js';
import { BACKUP_MAX_AGE_HOURS, backupNames } from '../src/data/backup.js';
import { pushgatewayUrl } from '../src/helm/releases/prometheus-pushgateway.js';
import { POSTGRES_IMAGE } from '../src/data/postgresql.js';
import { ns } from '../src/namespaces.js';
import { services, type ServiceDecl } from '../src/services.js';
import { servicesFile } from '../src/services-file.js';
import { render } from '../src/synth.js';
import { id, ofKind, podTemplate, synthesized, type K8sObject } from './support/platform.js';

/**
 * The backup mixin's objects per database (schemas are checked by schema.test.ts for every object): the
 * volume, the CronJob and how its pod runs, the network paths (to its database and the Pushgateway, and
 * nothing else), the alert rules, and the Pushgateway release the Jobs push to.
 */
const { objects, platform } = synthesized();
const withDatabase = services.filter((s) => s.database);
const find = (kind: string, name: string, namespace: string = ns.apps.name) =>
  objects.find((o) => o.kind === kind && o.metadata.name === name && o.metadata.namespace === namespace);

type CronJobSpec = {
  schedule: string;
  timeZone: string;
  concurrencyPolicy: string;
  startingDeadlineSeconds: number;
  jobTemplate: { spec: { backoffLimit: number; activeDeadlineSeconds: number; template: { spec: { restartPolicy: string } } } };
};
type Peer = { namespaceSelector?: { matchLabels?: Record<string, string> }; podSelector?: { matchLabels?: Record<string, string> } };
type PolicySpec = {
  podSelector: { matchLabels: Record<string, string> };
  policyTypes: string[];
  ingress?: { from: Peer[]; ports: { port: number }[] }[];
  egress?: { to: Peer[]; ports: { port: number }[] }[];
};
const peerName = (p: Peer) => `${p.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name']}/${JSON.stringify(p.podSelector?.matchLabels ?? {})}`;

describe.each(withDatabase.map((s) => [s.name, s] as const))('%s', (service) => {
  const names = backupNames(service);
  const cronJob = find('CronJob', names.cronJob)!;
  const spec = cronJob?.spec as CronJobSpec;
  const pod = cronJob && podTemplate(cronJob)!;
  const container = pod?.spec.containers[0] as
    | { image: string; args: string[]; env: { name: string; value?: string; valueFrom?: unknown }[]; volumeMounts: { name: string; mountPath: string }[] }
    | undefined;

  it('has a backup volume and a nightly CronJob that never runs twice at once', () => {
    expect(find('PersistentVolumeClaim', names.pvc)?.spec).toMatchObject({ accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '2Gi' } } });
    expect(cronJob).toBeDefined();
    expect(spec.schedule).toMatch(/^\d{1,2} 2 \* \* \*$/);
    expect(spec.timeZone).toBe('Etc/UTC');
    expect(spec.concurrencyPolicy).toBe('Forbid');
    expect(spec.startingDeadlineSeconds).toBe(3600);
    expect(spec.jobTemplate.spec.template.spec.restartPolicy).toBe('Never');
    expect(spec.jobTemplate.spec.activeDeadlineSeconds).toBe(3600);
  });

  it('runs the backup logic in the backup image with the database password from its Secret', () => {
    expect(container!.image).toBe('courseops/backup:dev');
    expect(container!.args).toEqual(['backup', service, '--dir', '/backups', '--push-url', pushgatewayUrl(), '--namespace', ns.apps.name]);
    expect(container!.env.find((e) => e.name === 'DATABASE_PASSWORD')?.valueFrom).toEqual({ secretKeyRef: { name: `${service}-postgresql`, key: 'password' } });
    expect(container!.env.find((e) => e.name === 'DATABASE_URL')?.value).toBe(
      `postgres://${service}:$(DATABASE_PASSWORD)@${service}-postgresql.courseops.svc.cluster.local:5432/${service}`,
    );
  });

  it('is hardened: non-root uid 999, read-only root filesystem, writable only /backups and /tmp', () => {
    expect(pod!.spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 999, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod!.spec.automountServiceAccountToken).toBe(false);
    const sc = pod!.spec.containers[0]!.securityContext!;
    expect(sc).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, runAsNonRoot: true, capabilities: { drop: ['ALL'] } });
    expect(container!.volumeMounts.map((m) => m.mountPath).sort()).toEqual(['/backups', '/tmp']);
    const volumes = pod!.spec.volumes as { name: string; persistentVolumeClaim?: { claimName: string }; emptyDir?: unknown }[];
    expect(volumes.find((v) => v.name === 'backups')?.persistentVolumeClaim?.claimName).toBe(names.pvc);
    expect(volumes.find((v) => v.name === 'tmp')?.emptyDir).toBeDefined();
  });

  it('its pods reach their database on 5432 and the Pushgateway on 9091, nothing else; nothing reaches them', () => {
    const podLabels = pod!.metadata!.labels!;
    const policies = ofKind(objects, 'NetworkPolicy')
      .filter((p) => p.metadata.namespace === ns.apps.name)
      .filter((p) => Object.entries((p.spec as PolicySpec).podSelector.matchLabels ?? {}).every(([k, v]) => podLabels[k] === v));
    // the namespace's default deny and DNS, and the backup's own policy
    expect(policies.map((p) => p.metadata.name).sort()).toEqual(['allow-dns', 'default-deny', names.policy].sort());
    const p = policies.find((x) => x.metadata.name === names.policy)!.spec as PolicySpec;
    expect(p.policyTypes.sort()).toEqual(['Egress', 'Ingress']);
    expect(p.ingress ?? []).toEqual([]);
    expect(p.egress!.map((r) => `${r.to.map(peerName).join(',')}:${r.ports.map((x) => x.port).join(',')}`)).toEqual([
      `courseops/${JSON.stringify({ 'app.kubernetes.io/instance': `${service}-postgresql`, 'app.kubernetes.io/name': 'postgresql' })}:5432`,
      `monitoring/${JSON.stringify({ 'app.kubernetes.io/name': 'prometheus-pushgateway' })}:9091`,
    ]);
  });

  it('its database admits the backup pods on 5432 (and the monitoring namespace admits their push)', () => {
    const admits = ofKind(objects, 'NetworkPolicy')
      .filter((x) => (x.spec as PolicySpec).podSelector.matchLabels?.['app.kubernetes.io/instance'] === `${service}-postgresql`)
      .flatMap((x) => (x.spec as PolicySpec).ingress ?? [])
      .filter((r) => r.from.some((peer) => peer.podSelector?.matchLabels?.['app.kubernetes.io/instance'] === names.cronJob));
    expect(admits.map((r) => r.ports.map((x) => x.port))).toEqual([[5432]]);
    const monitoring = find('NetworkPolicy', 'allow-ingress', ns.monitoring.name)!.spec as PolicySpec;
    const push = monitoring.ingress!.filter((r) => r.ports.some((x) => x.port === 9091));
    expect(push.flatMap((r) => r.from.map(peerName))).toEqual([`courseops/${JSON.stringify({ 'app.kubernetes.io/name': 'backup' })}`]);
  });

  it('has BackupTooOld (stale after 26 h, or missing for 26 h) and BackupFailed, on the pushed metric names', () => {
    const rule = find('PrometheusRule', names.rules)!;
    const groups = (rule.spec as { groups: { name: string; rules: { alert: string; expr: string; for?: string; labels: Record<string, string> }[] }[] }).groups;
    expect(groups.map((g) => g.name)).toEqual([names.group]);
    const rules = groups[0]!.rules;
    const stale = rules.find((r) => r.alert === 'BackupTooOld' && r.labels.reason === 'stale')!;
    expect(stale.expr).toBe(
      `time() - max by (namespace, service, database) (${BACKUP_METRICS.lastSuccess}{namespace="courseops", service="${service}"}) > ${BACKUP_MAX_AGE_HOURS * 3600}`,
    );
    const missing = rules.find((r) => r.alert === 'BackupTooOld' && r.labels.reason === 'missing')!;
    expect(missing).toMatchObject({ expr: `absent(${BACKUP_METRICS.lastSuccess}{namespace="courseops", service="${service}"})`, for: '26h' });
    expect(rules.find((r) => r.alert === 'BackupFailed')!.expr).toContain(`${BACKUP_METRICS.status}{namespace="courseops", service="${service}"}) == 0`);
    for (const r of rules) expect(r.labels).toMatchObject({ severity: 'warning', service, namespace: 'courseops' });
  });
});

describe('the Pushgateway release', () => {
  const release = platform.releases.find((r) => r.chart === 'prometheus-pushgateway')!;

  it('is installed in monitoring after kube-prometheus-stack, named so its Service is the push URL host', () => {
    expect(release.name).toBe('prometheus-pushgateway');
    expect(release.namespace).toBe(ns.monitoring.name);
    expect(release.order).toBeGreaterThan(platform.releases.find((r) => r.chart === 'kube-prometheus-stack')!.order);
    expect(pushgatewayUrl()).toBe('http://prometheus-pushgateway.monitoring.svc.cluster.local:9091');
  });

  it('is scraped with honorLabels (the pushed labels win), keeps its data over a restart, runs hardened', () => {
    expect(release.values).toMatchObject({
      serviceMonitor: { enabled: true, honorLabels: true },
      persistentVolume: { enabled: true },
      extraArgs: expect.arrayContaining(['--persistence.file=/data/pushgateway.data']),
      automountServiceAccountToken: false,
      containerSecurityContext: { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
    });
  });
});

describe('the backup image', () => {
  it("is built on the databases' own PostgreSQL image (pg_dump refuses a newer server major), named in one place", () => {
    const dockerfile = readFileSync(new URL('../../scripts/backup/Dockerfile', import.meta.url), 'utf8');
    // No default in the Dockerfile: the bring-up passes the image from dist/services.json.
    expect(dockerfile).toMatch(/^ARG POSTGRES_IMAGE$/m);
    expect(dockerfile).not.toContain(POSTGRES_IMAGE);
    expect(servicesFile(buildPlatform()).postgresImage).toBe(POSTGRES_IMAGE);
  });
});

describe('the mixin', () => {
  it('gives a service without a database nothing', () => {
    const noDb: ServiceDecl = { ...services[0]!, name: 'stateless', database: undefined, ingress: undefined };
    const out = render(buildPlatform({ services: [...services, noDb] }));
    const own = (out.objects as K8sObject[]).filter((o) => o.metadata.name?.startsWith('stateless-backup'));
    expect(own.map(id)).toEqual([]);
  });

  it('staggers the nightly runs so two dumps never overlap by schedule', () => {
    const schedules = withDatabase.map((s) => (find('CronJob', backupNames(s.name).cronJob)!.spec as CronJobSpec).schedule);
    expect(schedules).toEqual(['0 2 * * *', '10 2 * * *', '20 2 * * *']);
    expect(new Set(schedules).size).toBe(schedules.length);
  });

  it('takes a schedule and a volume size per service', () => {
    const custom = { ...services[0]!, database: { storage: '1Gi', backup: { schedule: '30 3 * * 0', storage: '5Gi' } } };
    const out = render(buildPlatform({ services: services.map((s) => (s.name === custom.name ? custom : s)) }));
    const objs = out.objects as K8sObject[];
    const cj = objs.find((o) => o.kind === 'CronJob' && o.metadata.name === `${custom.name}-backup`)!;
    expect((cj.spec as CronJobSpec).schedule).toBe('30 3 * * 0');
    expect(objs.find((o) => o.kind === 'PersistentVolumeClaim' && o.metadata.name === `${custom.name}-backups`)?.spec).toMatchObject({ resources: { requests: { storage: '5Gi' } } });
    expect(objs.filter((o) => o.kind === 'CronJob' && o.metadata.name === `${custom.name}-backup`)).toHaveLength(1);
  });
});
