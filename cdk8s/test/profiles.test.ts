import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildPlatform } from '../src/app.js';
import { ConfigError, loadConfig, resolveConfig } from '../src/config-file.js';
import { defaultConfig } from '../src/config.js';
import { servicesFile } from '../src/services-file.js';
import { render } from '../src/synth.js';
import { clusterTestConfig, ofKind, podTemplate, synthesized, type K8sObject } from './support/platform.js';

/**
 * Profiles (issue 16): `kind` is today's platform unchanged; `cluster` changes what a multi-node, multi-zone
 * cluster with real DNS needs, each setting overridable by the config file.
 */
const kind = synthesized('kind');
const cluster = synthesized('cluster');
const named = (objects: K8sObject[], kindName: string, name: string | undefined) => objects.find((o) => o.kind === kindName && o.metadata.name === name);
const values = (platform: typeof kind, chart: string) => platform.platform.releases.find((r) => r.chart === chart)!.values as Record<string, unknown>;

describe('the config file', () => {
  it('without a file is the kind profile', () => {
    expect(resolveConfig({})).toEqual(defaultConfig);
  });

  it('selects the cluster profile and overrides what it names, the environment over the file', () => {
    const config = resolveConfig({
      file: { profile: 'cluster', domain: 'courseops.example.com', tls: { clusterIssuer: 'corp-ca' }, minReplicas: 3, prometheus: { retention: '90d' } },
      env: { COURSEOPS_IMAGE_TAG: 'v1.4.0' },
    });
    expect(config).toMatchObject({ profile: 'cluster', domain: 'courseops.example.com', tls: { kind: 'cluster-issuer', name: 'corp-ca' }, minReplicas: 3, imageTag: 'v1.4.0' });
    expect(config.prometheus).toEqual({ cpu: '500m', memory: '4Gi', storage: '50Gi', retention: '90d' });
    expect(resolveConfig({ file: { profile: 'cluster', domain: 'a.example.com', tls: { clusterIssuer: 'x' } }, env: { COURSEOPS_PROFILE: 'kind' } }).profile).toBe('kind');
  });

  it.each([
    [{ profile: 'cluster', tls: { clusterIssuer: 'x' } }, /the cluster profile needs domain/],
    [{ profile: 'cluster', domain: 'courseops.example.com' }, /the cluster profile needs tls: \{ acme/],
    [{ profile: 'clutser' }, /profile Invalid option: expected one of "kind"\|"cluster"/],
    [{ domian: 'x.example.com' }, /: unknown key "domian"/],
    [{ elasticsearch: { memory: '4 GB' } }, /elasticsearch\.memory must be a memory quantity such as 4Gi/],
    [{ tls: { acme: { server: 'staging', email: 'not-an-address' } } }, /tls/],
    [{ tls: { acme: { server: 'prod', email: 'ops@example.com' } } }, /tls/],
    [{ storageClass: 'Fast SSD' }, /storageClass must be a DNS label/],
    [{ nodes: 0 }, /nodes/],
  ])('refuses %j, naming the key', (file, message) => {
    expect(() => resolveConfig({ file, source: 'courseops.config.yaml' })).toThrow(ConfigError);
    expect(() => resolveConfig({ file, source: 'courseops.config.yaml' })).toThrow(message);
  });

  it('refuses an external database for a service without one, naming the declared ones', () => {
    const config = { ...defaultConfig, externalDatabases: ['nosuch'] };
    expect(() => buildPlatform({ config })).toThrow(/databases.external names "nosuch", which is not a declared service with a database \(course, teacher, status\)/);
  });

  describe('read from disk', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'courseops-config-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('reads the file COURSEOPS_CONFIG names, and says so when it is missing or not YAML', () => {
      const file = path.join(dir, 'prod.yaml');
      writeFileSync(file, 'profile: cluster\ndomain: courseops.example.com\ntls:\n  acme: { server: production, email: ops@example.com }\nstorageClass: managed-csi\n');
      expect(loadConfig({ COURSEOPS_CONFIG: file })).toMatchObject({ profile: 'cluster', storageClass: 'managed-csi', tls: { kind: 'acme', server: 'production' } });
      expect(() => loadConfig({ COURSEOPS_CONFIG: path.join(dir, 'nope.yaml') })).toThrow(/COURSEOPS_CONFIG names .*nope\.yaml, which does not exist/);
      writeFileSync(path.join(dir, 'bad.yaml'), 'profile: [cluster\n');
      expect(() => loadConfig({ COURSEOPS_CONFIG: path.join(dir, 'bad.yaml') })).toThrow(/bad\.yaml: not YAML/);
    });

    it('the README example is a valid config file', async () => {
      const { readFileSync } = await import('node:fs');
      const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
      const example = /## Production cluster[\s\S]*?```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
      expect(example, 'README "Production cluster" has a yaml example').toBeDefined();
      expect(resolveConfig({ file: parse(example!), source: 'README' }).profile).toBe('cluster');
    });
  });
});

describe('the cluster profile', () => {
  const rollouts = ofKind(cluster.objects, 'Rollout');

  it('runs every service with two replicas at least, spread across zones (required) and nodes (preferred)', () => {
    expect(rollouts.map((r) => r.metadata.name).sort()).toEqual(['course', 'status', 'teacher']);
    for (const rollout of rollouts) {
      expect((rollout.spec as { replicas: number }).replicas, rollout.metadata.name).toBeGreaterThanOrEqual(2);
      const spread = podTemplate(rollout)!.spec.topologySpreadConstraints as unknown as { topologyKey: string; whenUnsatisfiable: string; matchLabelKeys: string[]; labelSelector: { matchLabels: Record<string, string> } }[];
      expect(spread.map((c) => [c.topologyKey, c.whenUnsatisfiable])).toEqual([
        ['topology.kubernetes.io/zone', 'DoNotSchedule'],
        ['kubernetes.io/hostname', 'ScheduleAnyway'],
      ]);
      // Counted per revision, and over the service's own pods only.
      expect(spread[0]!.matchLabelKeys).toEqual(['rollouts-pod-template-hash']);
      // A draining node's zone leaves the count, so an evicted replica finds a place (box-zones shows the difference).
      expect((spread[0] as { nodeTaintsPolicy?: string }).nodeTaintsPolicy).toBe('Honor');
      expect(spread[0]!.labelSelector.matchLabels).toEqual((rollout.spec as { selector: { matchLabels: object } }).selector.matchLabels);
    }
    expect(ofKind(kind.objects, 'Rollout').every((r) => podTemplate(r)!.spec.topologySpreadConstraints === undefined)).toBe(true);
  });

  it('lets a drain evict one pod of each service at a time however far it has scaled (PDB), and the HPA never scales below the floor', () => {
    for (const rollout of rollouts) {
      const replicas = (rollout.spec as { replicas: number }).replicas;
      const pdb = named(cluster.objects, 'PodDisruptionBudget', rollout.metadata.name)!;
      expect(pdb.spec).toMatchObject({ maxUnavailable: 1 });
      expect(pdb.spec).not.toHaveProperty('minAvailable');
      expect((named(cluster.objects, 'HorizontalPodAutoscaler', rollout.metadata.name)!.spec as { minReplicas: number }).minReplicas).toBe(replicas);
    }
  });

  it('claims every volume of the configured StorageClass, in the manifests and the Helm values', () => {
    const claims = [
      ...ofKind(cluster.objects, 'PersistentVolumeClaim').map((c) => c.spec as { storageClassName?: string }),
      ...[...ofKind(cluster.objects, 'StatefulSet'), ...ofKind(cluster.objects, 'Logstash')].flatMap((o) => (o.spec as { volumeClaimTemplates: { spec: { storageClassName?: string } }[] }).volumeClaimTemplates.map((t) => t.spec)),
      ...ofKind(cluster.objects, 'Elasticsearch').flatMap((o) => (o.spec as { nodeSets: { volumeClaimTemplates: { spec: object }[] }[] }).nodeSets.flatMap((n) => n.volumeClaimTemplates.map((t) => t.spec as { storageClassName?: string }))),
    ];
    expect(claims.length).toBeGreaterThanOrEqual(9);
    expect(claims.filter((c) => c.storageClassName !== 'fast-ssd')).toEqual([]);
    const helm = JSON.stringify(cluster.platform.releases.map((r) => r.values));
    expect(helm.match(/"storageClassName":"fast-ssd"/g)).toHaveLength(3); // Prometheus, Alertmanager, Grafana
    expect(helm).toContain('"storageClass":"fast-ssd"'); // the Pushgateway chart's key
    expect(JSON.stringify(kind.objects)).not.toContain('storageClassName');
  });

  it("issues the Gateway's certificates from Let's Encrypt over HTTP-01 on the Gateway's plain listener", () => {
    const issuer = named(cluster.objects, 'ClusterIssuer', 'letsencrypt-staging')!;
    expect(issuer.spec).toEqual({
      acme: {
        server: 'https://acme-staging-v02.api.letsencrypt.org/directory',
        email: 'ops@example.com',
        privateKeySecretRef: { name: 'letsencrypt-staging-account-key' },
        solvers: [{ http01: { gatewayHTTPRoute: { parentRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'courseops', namespace: 'traefik', sectionName: 'http' }] } } }],
      },
    });
    expect(ofKind(cluster.objects, 'ClusterIssuer')).toHaveLength(1);
    expect(ofKind(cluster.objects, 'Certificate')).toEqual([]);
    expect(named(cluster.objects, 'Gateway', 'courseops')!.metadata.annotations).toEqual({ 'cert-manager.io/cluster-issuer': 'letsencrypt-staging' });
    // cert-manager may reach Let's Encrypt; with the self-signed CA it may not.
    const egress = (objects: K8sObject[]) => JSON.stringify(objects.filter((o) => o.kind === 'NetworkPolicy' && o.metadata.namespace === 'cert-manager'));
    expect(egress(cluster.objects)).toContain("ACME client orders certificates from Let's Encrypt");
    // Its self-check of each challenge before asking Let's Encrypt: port 80 out, and Traefik's web entry point.
    expect(egress(cluster.objects)).toMatch(/"ports":\[\{"port":80,"protocol":"TCP"\}\]/);
    expect(egress(cluster.objects)).toContain('short-cut to Traefik');
    expect(egress(kind.objects)).not.toContain('ACME');
  });

  it('uses a ClusterIssuer the cluster already has, creating none', () => {
    const out = render(buildPlatform({ config: { ...clusterTestConfig, tls: { kind: 'cluster-issuer', name: 'corp-ca' } } }));
    const objects = out.objects as K8sObject[];
    expect(ofKind(objects, 'ClusterIssuer')).toEqual([]);
    expect(named(objects, 'Gateway', 'courseops')!.metadata.annotations).toEqual({ 'cert-manager.io/cluster-issuer': 'corp-ca' });
  });

  it('puts Traefik behind a LoadBalancer: two replicas, the client address kept, never both evicted, spread', () => {
    const traefik = values(cluster, 'traefik');
    expect(traefik).toMatchObject({
      deployment: { replicas: 2 },
      updateStrategy: { rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      nodeSelector: { 'kubernetes.io/os': 'linux' },
      service: { spec: { type: 'LoadBalancer', externalTrafficPolicy: 'Local' } },
      podDisruptionBudget: { enabled: true, maxUnavailable: 1 },
    });
    expect(JSON.stringify(traefik.ports)).not.toContain('hostPort');
    expect(JSON.stringify(traefik.topologySpreadConstraints)).toContain('topology.kubernetes.io/zone');
    expect(values(kind, 'traefik')).toMatchObject({ deployment: { replicas: 1 }, service: { spec: { type: 'ClusterIP' } }, nodeSelector: { 'ingress-ready': 'true' } });
  });

  it('sizes Elasticsearch and Prometheus for a team, with their volumes and retention', () => {
    const es = ofKind(cluster.objects, 'Elasticsearch')[0]!;
    const container = JSON.stringify(es.spec);
    expect(container).toContain('"requests":{"cpu":"1","memory":"4Gi"}');
    expect(container).toContain('-Xms2048m -Xmx2048m');
    expect(container).toContain('"storage":"50Gi"');
    const prometheus = (values(cluster, 'kube-prometheus-stack').prometheus as { prometheusSpec: Record<string, unknown> }).prometheusSpec;
    expect(prometheus).toMatchObject({ retention: '30d', retentionSize: '40GiB', resources: { requests: { cpu: '500m', memory: '4Gi' }, limits: { memory: '8192Mi' } } });
    expect(JSON.stringify(prometheus.storageSpec)).toContain('"storage":"50Gi"');
  });

  it('hands the bring-up what it must know: no CoreDNS rewrite, a load balancer, the StorageClass and the issuer', () => {
    expect(servicesFile(cluster.platform).cluster).toEqual({ profile: 'cluster', dnsRewrite: false, exposure: 'loadBalancer', storageClass: 'fast-ssd', issuer: { name: 'letsencrypt-staging', existing: false } });
    expect(servicesFile(kind.platform).cluster).toEqual({ profile: 'kind', dnsRewrite: true, exposure: 'hostPort', issuer: { name: 'courseops-ca', existing: false } });
  });
});

describe('an external database (databases.external)', () => {
  const platform = buildPlatform({ config: { ...clusterTestConfig, externalDatabases: ['course'] } });
  const out = render(platform);
  const objects = out.objects as K8sObject[];

  it('runs no PostgreSQL and no backup for that service, and reads its URL from the Secret the user creates', () => {
    expect(named(objects, 'StatefulSet', 'course-postgresql')).toBeUndefined();
    expect(named(objects, 'CronJob', 'course-backup')).toBeUndefined();
    expect(named(objects, 'StatefulSet', 'teacher-postgresql')).toBeDefined();
    const env = podTemplate(named(objects, 'Rollout', 'course')!)!.spec.containers[0]!.env as { name: string; valueFrom?: unknown; value?: string }[];
    expect(env.filter((e) => e.name.startsWith('DATABASE_'))).toEqual([{ name: 'DATABASE_URL', valueFrom: { secretKeyRef: { name: 'course-database-url', key: 'url' } } }]);
    // Nothing generates its password: the user's Secret is the only source.
    expect(platform.secrets.some((s) => s.name === 'course-postgresql')).toBe(false);
    expect(servicesFile(platform).services.find((s) => s.name === 'course')).toMatchObject({ database: 'external', databaseSecret: { name: 'course-database-url', key: 'url' } });
  });

  it('lets the service reach PostgreSQL outside the cluster, and alerts on no exporter it does not have', () => {
    const egress = named(objects, 'NetworkPolicy', 'course-egress')!;
    expect(JSON.stringify(egress.spec)).toContain('"ipBlock":{"cidr":"0.0.0.0/0"}');
    expect(JSON.stringify(egress.spec)).toContain('"port":5432');
    const rules = out.files.get('prometheus/rules/course-alerts.rules.yaml')!;
    expect(rules).not.toContain('DatabaseDown');
    expect(out.files.get('prometheus/rules/teacher-alerts.rules.yaml')).toContain('DatabaseDown');
  });
});
