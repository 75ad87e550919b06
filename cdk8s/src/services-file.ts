/**
 * dist/services.json: what the scripts need to know of the declared services, written by the synth so
 * that they read it instead of keeping their own copy (a copy in the bring-up built `courseops/<name>:dev`
 * whatever tag the manifests named, and resolved only `*.courseops.test` whatever the domain).
 */
import type { Platform } from './app.js';
import { imageOf, type ProfileName } from './config.js';
import { POSTGRES_IMAGE, serviceDatabase } from './data/postgresql.js';
import type { Hosts } from './hosts.js';
import { ns } from './namespaces.js';
import { issuerName } from './tls/ca.js';

export interface DeclaredService {
  readonly name: string;
  readonly namespace: string;
  readonly port: number;
  /** The image its manifests run. */
  readonly image: string;
  /** Its public route through the Gateway: the full host name and the path prefix. */
  readonly ingress?: { readonly host: string; readonly path: string };
  /** Services it calls; a `soft` one never fails its readiness. */
  readonly calls: readonly { readonly service: string; readonly soft: boolean }[];
  /** Services whose /readyz it probes (the status page). */
  readonly probes: readonly string[];
  /**
   * Its database: `in-cluster` (its own PostgreSQL StatefulSet and backup CronJob), `external` (the user's own,
   * e.g. a managed PostgreSQL: the service reads DATABASE_URL from `databaseSecret`, which the user creates), or `none`.
   */
  readonly database: 'in-cluster' | 'external' | 'none';
  readonly databaseSecret?: { readonly name: string; readonly key: string };
}

/** What the bring-up needs of the profile (src/config.ts) to reach and check the cluster. */
export interface ClusterFacts {
  readonly profile: ProfileName;
  /** Pods resolve the public hosts through a CoreDNS rewrite to Traefik's Service (no real DNS for them). */
  readonly dnsRewrite: boolean;
  /** How Traefik is reached: kind's hostPorts on the node labelled ingress-ready, or a LoadBalancer Service. */
  readonly exposure: 'hostPort' | 'loadBalancer';
  /** The StorageClass every volume claims; absent: the cluster's default StorageClass, which must then exist. */
  readonly storageClass?: string;
  /** The ClusterIssuer of the Gateway's certificates; `existing`: the cluster must already have it. */
  readonly issuer: { readonly name: string; readonly existing: boolean };
}

export interface ServicesFile {
  /** DNS suffix of every public host (COURSEOPS_DOMAIN). */
  readonly domain: string;
  /** Every public host by its role (src/hosts.ts): the services' and the operator UIs'. */
  readonly hosts: Hosts;
  readonly cluster: ClusterFacts;
  readonly services: readonly DeclaredService[];
  /** The image of the backup CronJobs, when a service has a database. */
  readonly backupImage?: string;
  /** The databases' PostgreSQL image, which the backup image is built on (same pg_dump major). */
  readonly postgresImage?: string;
}

export function servicesFile(platform: Platform): ServicesFile {
  const { config, services, hosts } = platform;
  const databaseOf = (name: string): Pick<DeclaredService, 'database' | 'databaseSecret'> => {
    if (!services.find((s) => s.name === name)?.database) return { database: 'none' };
    if (!config.externalDatabases.includes(name)) return { database: 'in-cluster' };
    return { database: 'external', databaseSecret: serviceDatabase(name, ns.apps.name).externalSecret };
  };
  return {
    domain: config.domain,
    hosts,
    cluster: {
      profile: config.profile,
      dnsRewrite: config.dnsRewrite,
      exposure: config.exposure,
      ...(config.storageClass ? { storageClass: config.storageClass } : {}),
      issuer: { name: issuerName(config.tls), existing: config.tls.kind === 'cluster-issuer' },
    },
    services: services.map((s) => ({
      name: s.name,
      namespace: ns.apps.name,
      port: s.port,
      image: imageOf(config, s.name),
      ...(s.ingress ? { ingress: { host: hosts[s.ingress.host], path: s.ingress.path } } : {}),
      calls: (s.calls ?? []).map((c) => ({ service: c.service, soft: c.soft })),
      probes: [...(s.probes ?? [])],
      ...databaseOf(s.name),
    })),
    ...(services.some((s) => databaseOf(s.name).database === 'in-cluster') ? { backupImage: imageOf(config, 'backup'), postgresImage: POSTGRES_IMAGE } : {}),
  };
}
