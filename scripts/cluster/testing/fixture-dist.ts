/**
 * A small dist/ in the shape `npm run synth` writes (see inputs.ts), for the tests and for trying
 * `npm run up -- --dry-run --dist <dir>` before the cdk8s app exists:
 *   npx tsx scripts/cluster/testing/fixture-dist.ts /tmp/courseops-dist [--cluster]
 * (--cluster: the `cluster` profile's, for `npm run up -- --context NAME --dry-run --dist <dir>`).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** In the file out of order on purpose: `up` installs by "order". */
export const FIXTURE_RELEASES = [
  {
    order: 3,
    name: 'kube-prometheus-stack',
    namespace: 'monitoring',
    repo: 'https://prometheus-community.github.io/helm-charts',
    chart: 'kube-prometheus-stack',
    version: '88.0.0',
    valuesFile: 'helm/03-kube-prometheus-stack.values.yaml',
    createNamespace: true,
    waitFor: { timeout: '15m' },
  },
  {
    order: 1,
    name: 'cert-manager',
    namespace: 'cert-manager',
    repo: 'oci://quay.io/jetstack/charts',
    chart: 'cert-manager',
    version: 'v1.21.0',
    valuesFile: 'helm/01-cert-manager.values.yaml',
    createNamespace: true,
  },
  {
    order: 2,
    name: 'traefik',
    namespace: 'traefik',
    repo: 'https://traefik.github.io/charts',
    chart: 'traefik',
    version: '41.3.0',
    valuesFile: 'helm/02-traefik.values.yaml',
    createNamespace: true,
  },
  {
    order: 4,
    name: 'eck-operator',
    namespace: 'elastic-system',
    repo: 'https://helm.elastic.co',
    chart: 'eck-operator',
    version: '3.5.0',
    valuesFile: 'helm/04-eck-operator.values.yaml',
    createNamespace: true,
  },
  {
    order: 5,
    name: 'argo-rollouts',
    namespace: 'argo-rollouts',
    repo: 'https://argoproj.github.io/argo-helm',
    chart: 'argo-rollouts',
    version: '2.41.0',
    valuesFile: 'helm/05-argo-rollouts.values.yaml',
    createNamespace: true,
  },
  {
    order: 6,
    name: 'dex',
    namespace: 'auth',
    repo: 'https://charts.dexidp.io',
    chart: 'dex',
    version: '0.24.1',
    valuesFile: 'helm/06-dex.values.yaml',
    createNamespace: true,
    waitFor: { timeout: '10m' },
  },
];

export const FIXTURE_DEX_VALUES = `config:
  issuer: https://dex.courseops.test
  staticPasswords:
    - email: admin@courseops.test
      username: admin
      hashFromEnv: DEX_ADMIN_PASSWORD_HASH
    - email: viewer@courseops.test
      username: viewer
      hashFromEnv: DEX_VIEWER_PASSWORD_HASH
`;

/** Every key form of the contract (cdk8s/src/secrets.ts). */
export const FIXTURE_SECRETS = [
  { namespace: 'courseops', name: 'course-db', keys: [{ key: 'password', generate: 'password' }], labels: { 'app.kubernetes.io/managed-by': 'cdk8s' } },
  { namespace: 'courseops', name: 'teacher-db', keys: [{ key: 'password', generate: 'password' }] },
  { namespace: 'courseops', name: 'alert-webhook', keys: [{ key: 'token', generate: 'password' }] },
  {
    namespace: 'auth',
    name: 'dex-clients',
    keys: [
      { key: 'grafana', generate: 'password' },
      { key: 'oauth2-proxy', generate: 'password' },
    ],
  },
  {
    namespace: 'auth',
    name: 'dex-static-users',
    keys: [
      { key: 'admin-password', generate: 'password' },
      { key: 'admin-password-hash', generate: 'bcrypt', from: 'admin-password' },
      { key: 'viewer-password', generate: 'password' },
      { key: 'viewer-password-hash', generate: 'bcrypt', from: 'viewer-password' },
    ],
  },
  {
    namespace: 'monitoring',
    name: 'grafana-admin',
    keys: [
      { key: 'admin-user', value: 'admin' },
      { key: 'admin-password', generate: 'password' },
    ],
    labels: { 'app.kubernetes.io/part-of': 'courseops' },
  },
  {
    namespace: 'monitoring',
    name: 'grafana-oauth',
    keys: [{ key: 'client-secret', copyFrom: { namespace: 'auth', name: 'dex-clients', key: 'grafana' } }],
  },
  { namespace: 'monitoring', name: 'extra-config', keys: [{ key: 'config', fromFile: 'secrets/extra-config' }] },
];

const HOST_KEYS = ['api', 'status', 'grafana', 'prometheus', 'alertmanager', 'rollouts', 'kibana', 'dex'];

/** dist/services.json as the synth writes it with the default config, the kind profile (cdk8s/src/services-file.ts). */
export const FIXTURE_SERVICES = {
  domain: 'courseops.test',
  hosts: Object.fromEntries(HOST_KEYS.map((key) => [key, `${key}.courseops.test`])),
  cluster: { profile: 'kind', dnsRewrite: true, exposure: 'hostPort', issuer: { name: 'courseops-ca', existing: false } },
  services: [
    { name: 'course', namespace: 'courseops', port: 3001, image: 'courseops/course:dev', ingress: { host: 'api.courseops.test', path: '/api/courses' }, calls: [], probes: [], database: 'in-cluster' },
    {
      name: 'teacher',
      namespace: 'courseops',
      port: 3002,
      image: 'courseops/teacher:dev',
      ingress: { host: 'api.courseops.test', path: '/api/teachers' },
      calls: [{ service: 'course', soft: true }],
      probes: [],
      database: 'in-cluster',
    },
    {
      name: 'status',
      namespace: 'courseops',
      port: 3003,
      image: 'courseops/status:dev',
      ingress: { host: 'status.courseops.test', path: '/' },
      calls: [],
      probes: ['course', 'teacher'],
      database: 'in-cluster',
    },
  ],
  backupImage: 'courseops/backup:dev',
  postgresImage: 'docker.io/library/postgres:18.6',
};

/**
 * dist/services.json of the `cluster` profile: a real domain, images under a registry, a StorageClass, an ACME
 * issuer, no CoreDNS rewrite, Traefik behind a LoadBalancer, and course on the user's own (external) database.
 */
export const FIXTURE_CLUSTER_REGISTRY = 'registry.example.com:5000/team';
export const FIXTURE_CLUSTER_SERVICES = {
  ...FIXTURE_SERVICES,
  domain: 'courseops.example.com',
  hosts: Object.fromEntries(HOST_KEYS.map((key) => [key, `${key}.courseops.example.com`])),
  cluster: { profile: 'cluster', dnsRewrite: false, exposure: 'loadBalancer', storageClass: 'managed-csi', issuer: { name: 'letsencrypt-production', existing: false } },
  services: FIXTURE_SERVICES.services.map((s) => ({
    ...s,
    image: `${FIXTURE_CLUSTER_REGISTRY}/${s.name}:v1`,
    ...(s.ingress ? { ingress: { ...s.ingress, host: s.ingress.host.replace('courseops.test', 'courseops.example.com') } } : {}),
    ...(s.name === 'course' ? { database: 'external', databaseSecret: { name: 'course-database-url', key: 'url' } } : {}),
  })),
  backupImage: `${FIXTURE_CLUSTER_REGISTRY}/backup:v1`,
};

export const FIXTURE_CLUSTER_HOSTS = Object.values(FIXTURE_CLUSTER_SERVICES.hosts);

export const FIXTURE_HOSTS = [
  'course.courseops.test',
  'teacher.courseops.test',
  'status.courseops.test',
  'grafana.courseops.test',
  'kibana.courseops.test',
  'prometheus.courseops.test',
  'alertmanager.courseops.test',
  'rollouts.courseops.test',
  'dex.courseops.test',
];

/** File name -> content; written in a shuffled order, applied in file-name order. */
export const FIXTURE_MANIFESTS: Record<string, string> = {
  '20-courseops.yaml': `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: course
  namespace: courseops
---
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: teacher
  namespace: courseops
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: status
  namespace: courseops
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: postgres
  namespace: courseops
---
apiVersion: v1
kind: Service
metadata:
  name: course
  namespace: courseops
`,
  '00-namespaces.yaml': `apiVersion: v1
kind: Namespace
metadata:
  name: courseops
---
apiVersion: v1
kind: Namespace
metadata:
  name: logging
`,
  '30-logging.yaml': `apiVersion: elasticsearch.k8s.elastic.co/v1
kind: Elasticsearch
metadata:
  name: logs
  namespace: logging
---
apiVersion: kibana.k8s.elastic.co/v1
kind: Kibana
metadata:
  name: kibana
  namespace: logging
---
apiVersion: beat.k8s.elastic.co/v1beta1
kind: Beat
metadata:
  name: filebeat
  namespace: logging
`,
  '10-certificates.yaml': `apiVersion: cert-manager.io/v1
kind: ClusterIssuer
metadata:
  name: selfsigned
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata:
  name: courseops-ca
  namespace: cert-manager
spec:
  isCA: true
  secretName: courseops-root-ca
  issuerRef:
    kind: ClusterIssuer
    name: selfsigned
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata:
  name: courseops-tls
  namespace: courseops
`,
  '40-auth.yaml': `apiVersion: apps/v1
kind: Deployment
metadata:
  name: oauth2-proxy
  namespace: monitoring
---
apiVersion: v1
kind: List
items:
  - apiVersion: apps/v1
    kind: DaemonSet
    metadata:
      name: node-agent
      namespace: monitoring
`,
};

/** The manifests of the cluster profile: an ACME issuer in place of the platform's own CA. */
export const FIXTURE_CLUSTER_MANIFESTS: Record<string, string> = {
  ...FIXTURE_MANIFESTS,
  '10-certificates.yaml': `apiVersion: cert-manager.io/v1
kind: ClusterIssuer
metadata:
  name: letsencrypt-production
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: teacher-backups
  namespace: courseops
`,
};

/** Writes a dist/ (the kind profile's unless told otherwise); returns `dir`. */
export function writeFixtureDist(
  dir: string,
  services: object = FIXTURE_SERVICES,
  options: { hosts?: readonly string[]; manifests?: Record<string, string> } = {},
): string {
  mkdirSync(path.join(dir, 'helm'), { recursive: true });
  mkdirSync(path.join(dir, 'manifests'), { recursive: true });
  mkdirSync(path.join(dir, 'secrets'), { recursive: true });
  writeFileSync(path.join(dir, 'helm/releases.json'), `${JSON.stringify(FIXTURE_RELEASES, null, 2)}\n`);
  for (const r of FIXTURE_RELEASES) writeFileSync(path.join(dir, r.valuesFile), r.chart === 'dex' ? FIXTURE_DEX_VALUES : `# values of ${r.name}\n{}\n`);
  for (const [name, text] of Object.entries(options.manifests ?? FIXTURE_MANIFESTS)) writeFileSync(path.join(dir, 'manifests', name), text);
  writeFileSync(path.join(dir, 'secrets.json'), `${JSON.stringify(FIXTURE_SECRETS, null, 2)}\n`);
  writeFileSync(path.join(dir, 'secrets/extra-config'), 'some: config\n');
  writeFileSync(path.join(dir, 'hosts.json'), `${JSON.stringify(options.hosts ?? FIXTURE_HOSTS, null, 2)}\n`);
  writeFileSync(path.join(dir, 'services.json'), `${JSON.stringify(services, null, 2)}\n`);
  return dir;
}

/** A dist/ as `npm run synth` writes it with the cluster profile (FIXTURE_CLUSTER_*). */
export function writeClusterFixtureDist(dir: string, services: object = FIXTURE_CLUSTER_SERVICES): string {
  return writeFixtureDist(dir, services, { hosts: FIXTURE_CLUSTER_HOSTS, manifests: FIXTURE_CLUSTER_MANIFESTS });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [dir, profile] = process.argv.slice(2);
  if (!dir || (profile !== undefined && profile !== '--cluster')) {
    process.stderr.write('usage: tsx scripts/cluster/testing/fixture-dist.ts <dir> [--cluster]\n');
    process.exit(2);
  }
  process.stdout.write(`${profile ? writeClusterFixtureDist(path.resolve(dir)) : writeFixtureDist(path.resolve(dir))}\n`);
}
