/**
 * Backup file names: `<service>-<UTC timestamp>.dump` with `YYYYMMDDTHHMMSSZ` (sortable, no colon, so
 * valid on every filesystem and in `kubectl cp`), `<name>.sha256` beside it (sha256sum's format, so
 * `sha256sum -c` checks it too) and `<name>.json`, the manifest (row counts per table, size, versions).
 */
import { BackupError } from './pg.js';

export const DUMP_EXT = '.dump';
export const CHECKSUM_EXT = '.sha256';
export const MANIFEST_EXT = '.json';

/** A DNS label, like the service names of services.ts: the name is part of file, Job and label names. */
const SERVICE = /^[a-z0-9]([-a-z0-9]{0,40}[a-z0-9])?$/;

export function checkServiceName(service: string): string {
  if (!SERVICE.test(service)) throw new BackupError(`invalid service name ${JSON.stringify(service)}: lowercase letters, digits and '-'`);
  return service;
}

export function timestamp(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
}

export function backupName(service: string, at: Date): string {
  return `${checkServiceName(service)}-${timestamp(at)}${DUMP_EXT}`;
}

export interface ParsedName {
  readonly service: string;
  readonly at: Date;
  readonly name: string;
}

const NAME = /^([a-z0-9][-a-z0-9]*)-(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z\.dump$/;

/** The service and time of a backup file name; undefined for any other file (never touched by rotation). */
export function parseBackupName(name: string): ParsedName | undefined {
  const m = NAME.exec(name);
  if (!m) return undefined;
  const [, service, y, mo, d, h, mi, s] = m as unknown as [string, string, string, string, string, string, string, string];
  const at = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)));
  if (timestamp(at) !== name.slice(service.length + 1, -DUMP_EXT.length)) return undefined; // e.g. month 13
  return { service, at, name };
}
