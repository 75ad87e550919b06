import { Construct } from 'constructs';
import * as k8s from '../k8s.js';
import { resourceRequirements } from '../resources.js';
import { appLabels, selectorLabels } from '../labels.js';
import { peers } from '../networking/peers.js';
import { AllowPolicy, WORLD, type PolicyRule } from '../networking/policies.js';
import { hardenPodSpec } from '../security/hardening.js';
import type { SecretRegistry } from '../secrets.js';
import type { ServiceMixin } from '../microservice/mixin.js';
import { hasExternalDatabase, type PlatformConfig } from '../config.js';
import { volumeClaimSpec } from '../storage.js';
import { Scrape } from '../microservice/monitoring.js';
import { serviceHost } from '../cluster-dns.js';

/** Same major as PGlite in the tests (PostgreSQL 18). */
export const POSTGRES_IMAGE = 'docker.io/library/postgres:18.6';
export const POSTGRES_EXPORTER_IMAGE = 'quay.io/prometheuscommunity/postgres-exporter:v0.20.1';
/** uid/gid of the `postgres` user in the Debian-based official image. */
export const POSTGRES_RUN_AS = { uid: 999, gid: 999 } as const;
export const POSTGRES_PORT = 5432;
export const EXPORTER_PORT = 9187;

export const postgresResources = {
  postgres: { requests: { cpu: '100m', memory: '256Mi' }, limits: { cpu: '1', memory: '512Mi' } },
  exporter: { requests: { cpu: '10m', memory: '32Mi' }, limits: { cpu: '100m', memory: '64Mi' } },
} as const;

export interface PostgreSqlProps {
  /** The owning service: database, user and object names derive from it. */
  readonly owner: string;
  readonly namespace: string;
  readonly storage: string;
  /** Its StorageClass (volumeClaimSpec). */
  readonly config: Pick<PlatformConfig, 'storageClass'>;
  /** Pods allowed to connect (the owning service). */
  readonly clients: Readonly<Record<string, string>>;
  readonly secrets: SecretRegistry;
}

const q = (v: string) => k8s.Quantity.fromString(v);

/**
 * One PostgreSQL for one service: a single-replica StatefulSet with a PersistentVolumeClaim, a
 * password Secret generated at deploy time (dist/secrets.json: never in git or dist/), a
 * postgres-exporter sidecar and its ServiceMonitor, and a NetworkPolicy that admits only the owning
 * service (5432) and Prometheus (9187).
 */
/** `<service>-postgresql`: the database's StatefulSet, Service, Secret and exporter job. */
export const databaseName = (service: string): string => `${service}-postgresql`;

/**
 * The names of a service's database, in one place: its StatefulSet, Service, password Secret and exporter
 * job are `<service>-postgresql`; the pods are selected by these labels; the service connects as the user
 * and database named after itself. The service, its backup job and the alerts all take them from here.
 */
export function serviceDatabase(service: string, namespace: string) {
  const name = databaseName(service);
  const host = serviceHost(name, namespace);
  return {
    name,
    secretName: name,
    host,
    selector: selectorLabels({ name: 'postgresql', instance: name }),
    /** An external database (the config's databases.external): the Secret with its URL, which the user creates. */
    externalSecret: { name: `${service}-database-url`, key: 'url' },
    /** Env vars of a client pod: the generated password from the Secret, then DATABASE_URL built from it by Kubernetes' $(VAR) expansion. */
    clientEnv: [
      { name: 'DATABASE_PASSWORD', valueFrom: { secretKeyRef: { name, key: 'password' } } },
      { name: 'DATABASE_URL', value: `postgres://${service}:$(DATABASE_PASSWORD)@${host}:${POSTGRES_PORT}/${service}` },
    ],
  };
}

export class PostgreSql extends Construct {
  readonly name: string;
  readonly secretName: string;
  readonly host: string;

  constructor(scope: Construct, id: string, props: PostgreSqlProps) {
    super(scope, id);
    const db = serviceDatabase(props.owner, props.namespace);
    const name = db.name;
    this.name = name;
    this.secretName = db.secretName;
    this.host = db.host;
    const selector = db.selector;
    const labels = { ...appLabels({ name: 'postgresql', instance: name, component: 'database', version: '18' }), 'courseops.dev/owner': props.owner };
    const namespace = props.namespace;

    props.secrets.add({ namespace, name, keys: [{ key: 'password', generate: 'password' }], labels });

    new k8s.KubeServiceAccount(this, 'ServiceAccount', { metadata: { name, namespace, labels }, automountServiceAccountToken: false });

    // Headless: governs the StatefulSet and resolves to the single pod; the exporter port is scraped.
    new k8s.KubeService(this, 'Service', {
      metadata: { name, namespace, labels },
      spec: {
        clusterIp: 'None',
        selector,
        ports: [
          { name: 'postgresql', port: POSTGRES_PORT, targetPort: k8s.IntOrString.fromString('postgresql'), protocol: 'TCP' },
          { name: 'metrics', port: EXPORTER_PORT, targetPort: k8s.IntOrString.fromString('metrics'), protocol: 'TCP' },
        ],
      },
    });

    const password: k8s.EnvVar = { name: 'POSTGRES_PASSWORD', valueFrom: { secretKeyRef: { name, key: 'password' } } };
    const isReady = ['pg_isready', '-h', '127.0.0.1', '-p', String(POSTGRES_PORT), '-U', props.owner, '-d', props.owner];
    const podSpec = hardenPodSpec(
      {
        serviceAccountName: name,
        terminationGracePeriodSeconds: 60,
        containers: [
          {
            name: 'postgresql',
            image: POSTGRES_IMAGE,
            imagePullPolicy: 'IfNotPresent',
            ports: [{ name: 'postgresql', containerPort: POSTGRES_PORT, protocol: 'TCP' }],
            env: [
              { name: 'POSTGRES_USER', value: props.owner },
              { name: 'POSTGRES_DB', value: props.owner },
              password,
              { name: 'PGDATA', value: '/var/lib/postgresql/data/pgdata' },
            ],
            resources: resourceRequirements(postgresResources.postgres),
            startupProbe: { exec: { command: isReady }, periodSeconds: 2, failureThreshold: 60, timeoutSeconds: 2 },
            livenessProbe: { exec: { command: isReady }, periodSeconds: 10, failureThreshold: 6, timeoutSeconds: 5 },
            readinessProbe: { exec: { command: isReady }, periodSeconds: 5, failureThreshold: 3, timeoutSeconds: 2 },
            volumeMounts: [
              { name: 'data', mountPath: '/var/lib/postgresql/data' },
              { name: 'run', mountPath: '/var/run/postgresql' },
              { name: 'tmp', mountPath: '/tmp' },
            ],
          },
          {
            name: 'exporter',
            image: POSTGRES_EXPORTER_IMAGE,
            imagePullPolicy: 'IfNotPresent',
            ports: [{ name: 'metrics', containerPort: EXPORTER_PORT, protocol: 'TCP' }],
            env: [
              { name: 'DATA_SOURCE_URI', value: `127.0.0.1:${POSTGRES_PORT}/${props.owner}?sslmode=disable` },
              { name: 'DATA_SOURCE_USER', value: props.owner },
              { name: 'DATA_SOURCE_PASS', valueFrom: { secretKeyRef: { name, key: 'password' } } },
            ],
            resources: resourceRequirements(postgresResources.exporter),
            livenessProbe: { httpGet: { path: '/', port: k8s.IntOrString.fromString('metrics') }, periodSeconds: 20, timeoutSeconds: 5 },
            readinessProbe: { httpGet: { path: '/', port: k8s.IntOrString.fromString('metrics') }, periodSeconds: 10, timeoutSeconds: 5 },
          },
        ],
        volumes: [
          { name: 'run', emptyDir: { sizeLimit: q('16Mi') } },
          { name: 'tmp', emptyDir: { sizeLimit: q('64Mi') } },
        ],
      },
      POSTGRES_RUN_AS,
    );
    new k8s.KubeStatefulSet(this, 'StatefulSet', {
      metadata: { name, namespace, labels },
      spec: {
        serviceName: name,
        replicas: 1,
        selector: { matchLabels: selector },
        podManagementPolicy: 'OrderedReady',
        updateStrategy: { type: 'RollingUpdate' },
        persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
        template: { metadata: { labels }, spec: podSpec },
        volumeClaimTemplates: [
          {
            metadata: { name: 'data', labels },
            spec: volumeClaimSpec(props.config, props.storage),
          },
        ],
      },
    });

    new Scrape(this, 'ServiceMonitor', {
      name,
      namespace,
      labels,
      serviceSelector: selector,
      port: 'metrics',
      jobName: name,
      interval: '30s',
    });

    const ingress: PolicyRule[] = [
      { peers: [{ namespace, podLabels: props.clients }], ports: [POSTGRES_PORT], why: `${props.owner} uses its database` },
      { peers: [peers.prometheus], ports: [EXPORTER_PORT], why: 'Prometheus scrapes postgres-exporter' },
    ];
    new AllowPolicy(this, 'Policy', { namespace, name, podLabels: selector, labels, ingress });
  }

}

/**
 * The service's own database (declared with `database` in services.ts): DATABASE_URL is assembled from
 * the generated password with Kubernetes' $(VAR) expansion, so the password never appears in a manifest.
 */
export const databaseMixin = (): ServiceMixin => {
  return {
    name: 'database',
    contribute(ctx) {
      if (!ctx.decl.database) return {};
      const db = serviceDatabase(ctx.decl.name, ctx.namespace);
      if (hasExternalDatabase(ctx)) {
        // The user's own PostgreSQL (a managed one): its URL from the Secret they create, reached outside the cluster.
        return {
          env: [{ name: 'DATABASE_URL', valueFrom: { secretKeyRef: { name: db.externalSecret.name, key: db.externalSecret.key } } }],
          egress: [{ peers: [WORLD], ports: [POSTGRES_PORT], why: `uses its external database (Secret ${db.externalSecret.name})` }],
        };
      }
      const name = db.name;
      return {
        env: db.clientEnv,
        egress: [
          {
            peers: [{ namespace: ctx.namespace, podLabels: db.selector }],
            ports: [POSTGRES_PORT],
            why: `uses its database ${name}`,
          },
        ],
      };
    },
    apply(ctx) {
      if (!ctx.decl.database || hasExternalDatabase(ctx)) return;
      new PostgreSql(ctx.scope, 'PostgreSql', {
        owner: ctx.decl.name,
        namespace: ctx.namespace,
        storage: ctx.decl.database.storage,
        config: ctx.config,
        clients: ctx.selector,
        secrets: ctx.secrets,
      });
    },
  };
};
