/**
 * Restore of one backup over a live database, in an order that never loses the live data:
 * 1. the backup file exists and belongs to the service; its sha256 matches `<name>.sha256` (else refuse);
 * 2. pg_restore into a scratch database `<db>_restore_<ts>` (one transaction, stop on the first error);
 *    its row counts must equal the manifest's (the counts the backup verified);
 * 3. only then the swap, in one transaction on the maintenance database: live -> `<db>_old_<ts>`,
 *    scratch -> live. New connections to the live database are refused meanwhile and the existing ones
 *    terminated (a rename needs the database to be unused); clients reconnect to the restored one.
 * The old database is kept (`keepOld`, the default) for inspection or a way back; nothing is dropped
 * before the restored copy is in place. A failure before the swap drops the scratch database and leaves
 * the live one as it was.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Manifest } from './backup.js';
import { compareCounts, createDatabase, databaseExists, derivedName, dropDatabase, restoreInto, rowCounts, verifyChecksum } from './database.js';
import { CHECKSUM_EXT, DUMP_EXT, MANIFEST_EXT, parseBackupName, timestamp } from './naming.js';
import { BackupError, ident, literal, onDatabase, parseDatabaseUrl, query, type ConnInfo } from './pg.js';

export interface RestoreOptions {
  readonly service: string;
  /** A backup file name in `dir`, or a path. */
  readonly backup: string;
  readonly databaseUrl: string;
  readonly dir: string;
  readonly maintenanceDatabase?: string;
  /** Keep the replaced database as `<db>_old_<ts>` (default true). */
  readonly keepOld?: boolean;
  /** pg_restore --no-owner --no-privileges: restoring onto a server without the original roles. */
  readonly noOwner?: boolean;
  readonly now?: () => Date;
  readonly log?: (line: string) => void;
  /** Attempts at the swap while clients keep reconnecting (default 10). */
  readonly swapAttempts?: number;
}

export interface RestoreResult {
  readonly backup: string;
  readonly database: string;
  /** The replaced database, when kept. */
  readonly oldDatabase?: string;
  readonly tables: number;
  readonly createdLive: boolean;
}

export function resolveBackup(dir: string, service: string, backup: string): string {
  const path = backup.includes('/') ? backup : join(dir, backup);
  const name = basename(path);
  const parsed = parseBackupName(name);
  if (!parsed) throw new BackupError(`${JSON.stringify(backup)} is not a backup name (<service>-YYYYMMDDTHHMMSSZ${DUMP_EXT})`);
  if (parsed.service !== service) throw new BackupError(`${name} is a backup of ${parsed.service}, not of ${service}`);
  if (!existsSync(path)) {
    const dirOf = dirname(path);
    const available = existsSync(dirOf) ? readdirSync(dirOf).filter((f) => parseBackupName(f)?.service === service).sort() : [];
    throw new BackupError(`backup ${name} not found in ${dirOf}${available.length ? `; available: ${available.join(', ')}` : ' (no backup of this service there)'}`);
  }
  return path;
}

export async function runRestore(options: RestoreOptions): Promise<RestoreResult> {
  const log = options.log ?? (() => undefined);
  const conn = parseDatabaseUrl(options.databaseUrl);
  const maintenance = onDatabase(conn, options.maintenanceDatabase ?? 'postgres');
  const path = resolveBackup(options.dir, options.service, options.backup);
  const name = basename(path);

  await verifyChecksum(path, `${path}${CHECKSUM_EXT}`);
  log(`checksum of ${name} verified`);
  const manifest = existsSync(`${path}${MANIFEST_EXT}`) ? (JSON.parse(readFileSync(`${path}${MANIFEST_EXT}`, 'utf8')) as Manifest) : undefined;

  const ts = timestamp((options.now ?? (() => new Date()))()).toLowerCase();
  const live = conn.database;
  // The swap renames the live database from another one: it cannot be the maintenance database itself.
  if (live === maintenance.database) throw new BackupError(`cannot restore over the maintenance database ${live}: pass --maintenance-db <another database>`);
  const scratch = derivedName(live, `restore_${ts}`);
  const old = derivedName(live, `old_${ts}`);
  for (const n of [scratch, old]) if (await databaseExists(maintenance, n)) throw new BackupError(`database ${n} already exists: is another restore running?`);

  await createDatabase(maintenance, scratch);
  let swapped = false;
  try {
    log(`restoring ${name} into scratch database ${scratch}`);
    await restoreInto(conn, scratch, path, { noOwner: options.noOwner ?? false });
    const counts = await rowCounts(onDatabase(conn, scratch));
    if (manifest) {
      const diffs = compareCounts(manifest.tables, counts);
      if (diffs.length > 0) throw new BackupError(`restored copy differs from the backup's manifest: ${diffs.join('; ')}`);
    }
    log(`scratch restore complete: ${Object.keys(counts).length} tables${manifest ? ', row counts equal to the manifest' : ''}`);

    const liveExists = await databaseExists(maintenance, live);
    if (liveExists) {
      const [[owner]] = (await query(maintenance, `select pg_get_userbyid(datdba) from pg_database where datname = ${literal(live)}`)) as [[string]];
      await query(maintenance, `alter database ${ident(scratch)} owner to ${ident(owner)}`);
      await swap(maintenance, live, scratch, old, options.swapAttempts ?? 10, log);
    } else {
      // The live database is gone (a lost volume, a new cluster): the restored copy simply takes its name.
      await query(maintenance, `alter database ${ident(scratch)} rename to ${ident(live)}`);
    }
    swapped = true;
    log(liveExists ? `swapped: ${live} is the restored copy, the previous one is ${old}` : `created ${live} from the backup`);

    if (liveExists && options.keepOld === false) {
      await dropDatabase(maintenance, old);
      log(`dropped ${old}`);
    }
    return {
      backup: name,
      database: live,
      ...(liveExists && options.keepOld !== false ? { oldDatabase: old } : {}),
      tables: Object.keys(counts).length,
      createdLive: !liveExists,
    };
  } finally {
    if (!swapped) await dropDatabase(maintenance, scratch).catch(() => undefined);
  }
}

/**
 * Renames live -> old and scratch -> live in one transaction. A rename needs the database unused:
 * connections are refused (datallowconn) and terminated first; a client that slipped in between makes
 * the rename fail, and it is retried. On giving up, the live database is reopened unchanged.
 */
async function swap(maintenance: ConnInfo, live: string, scratch: string, old: string, attempts: number, log: (line: string) => void): Promise<void> {
  await query(maintenance, `alter database ${ident(live)} with allow_connections false`);
  try {
    for (let attempt = 1; ; attempt++) {
      await query(maintenance, `select pg_terminate_backend(pid) from pg_stat_activity where datname = ${literal(live)} and pid <> pg_backend_pid()`);
      try {
        await query(
          maintenance,
          `begin; alter database ${ident(live)} rename to ${ident(old)}; alter database ${ident(scratch)} rename to ${ident(live)}; commit;`,
        );
        break;
      } catch (err) {
        if (attempt >= attempts || !/being accessed by other users/.test(String(err))) throw err;
        log(`swap attempt ${attempt}: ${live} still in use, retrying`);
        await new Promise((r) => setTimeout(r, 200 * attempt));
      }
    }
  } catch (err) {
    await query(maintenance, `alter database ${ident(live)} with allow_connections true`).catch(() => undefined);
    throw err;
  }
  // The replaced copy stays reachable for inspection under its new name.
  await query(maintenance, `alter database ${ident(old)} with allow_connections true`);
}
