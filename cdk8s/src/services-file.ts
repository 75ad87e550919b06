/**
 * dist/services.json: what the scripts need to know of the declared services, written by the synth so
 * that they read it instead of keeping their own copy (a copy in the bring-up built `courseops/<name>:dev`
 * whatever tag the manifests named, and resolved only `*.courseops.test` whatever the domain).
 */
import type { Platform } from './app.js';
import { imageOf } from './config.js';
import { POSTGRES_IMAGE } from './data/postgresql.js';
import type { Hosts } from './hosts.js';
import { ns } from './namespaces.js';

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
  /** Whether it has its own PostgreSQL (and so a backup CronJob). */
  readonly database: boolean;
}

export interface ServicesFile {
  /** DNS suffix of every public host (COURSEOPS_DOMAIN). */
  readonly domain: string;
  /** Every public host by its role (src/hosts.ts): the services' and the operator UIs'. */
  readonly hosts: Hosts;
  readonly services: readonly DeclaredService[];
  /** The image of the backup CronJobs, when a service has a database. */
  readonly backupImage?: string;
  /** The databases' PostgreSQL image, which the backup image is built on (same pg_dump major). */
  readonly postgresImage?: string;
}

export function servicesFile(platform: Platform): ServicesFile {
  const { config, services, hosts } = platform;
  return {
    domain: config.domain,
    hosts,
    services: services.map((s) => ({
      name: s.name,
      namespace: ns.apps.name,
      port: s.port,
      image: imageOf(config, s.name),
      ...(s.ingress ? { ingress: { host: hosts[s.ingress.host], path: s.ingress.path } } : {}),
      calls: (s.calls ?? []).map((c) => ({ service: c.service, soft: c.soft })),
      probes: [...(s.probes ?? [])],
      database: s.database !== undefined,
    })),
    ...(services.some((s) => s.database) ? { backupImage: imageOf(config, 'backup'), postgresImage: POSTGRES_IMAGE } : {}),
  };
}
