/**
 * dist/services.json: what the scripts need to know of the declared services, written by the synth so
 * that they read it instead of keeping their own copy (a copy in the bring-up built `courseops/<name>:dev`
 * whatever tag the manifests named, and resolved only `*.courseops.test` whatever the domain).
 */
import type { Platform } from './app.js';
import { imageOf } from './config.js';
import { POSTGRES_IMAGE } from './data/postgresql.js';

export interface ServicesFile {
  /** DNS suffix of every public host (COURSEOPS_DOMAIN). */
  readonly domain: string;
  /** Each declared service and the image its manifests run. */
  readonly services: readonly { readonly name: string; readonly port: number; readonly image: string }[];
  /** The image of the backup CronJobs, when a service has a database. */
  readonly backupImage?: string;
  /** The databases' PostgreSQL image, which the backup image is built on (same pg_dump major). */
  readonly postgresImage?: string;
}

export function servicesFile(platform: Platform): ServicesFile {
  const { config, services } = platform;
  return {
    domain: config.domain,
    services: services.map((s) => ({ name: s.name, port: s.port, image: imageOf(config, s.name) })),
    ...(services.some((s) => s.database) ? { backupImage: imageOf(config, 'backup'), postgresImage: POSTGRES_IMAGE } : {}),
  };
}
