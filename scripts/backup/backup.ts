/**
 * One backup of one database:
 * 1. open a REPEATABLE READ transaction, export its snapshot and count every table's rows in it;
 * 2. pg_dump -Fc with that snapshot to `<dir>/<name>.partial`: the dump and the counts see exactly the
 *    same data, however much traffic runs meanwhile;
 * 3. sha256 of the file;
 * 4. verify: restore it into a scratch database, compare exact row counts per table with step 1, drop
 *    the scratch database;
 * 5. only then publish: `<name>.sha256`, `<name>.json` (manifest), and the rename `.partial` -> `.dump`
 *    (atomic), so a `.dump` always has its checksum and passed its verification;
 * 6. rotate (rotate.ts).
 * A failure at any step removes the partial file and leaves the existing backups alone.
 */
import { mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compareCounts, createDatabase, derivedName, dropDatabase, restoreInto, rowCounts, rowCountsIn, sha256File, writeChecksum, type RowCounts } from './database.js';
import { backupName, CHECKSUM_EXT, MANIFEST_EXT, timestamp } from './naming.js';
import { BackupError, onDatabase, parseDatabaseUrl, PsqlSession, query, runTool, type ConnInfo } from './pg.js';
import { DEFAULT_RETENTION, rotate, type RetentionPolicy, type RotationPlan } from './rotate.js';

export interface BackupOptions {
  readonly service: string;
  readonly databaseUrl: string;
  readonly dir: string;
  /** Database to connect to for CREATE/DROP DATABASE of the scratch copy (default `postgres`). */
  readonly maintenanceDatabase?: string;
  /** Skip rotation (default: rotate with DEFAULT_RETENTION). */
  readonly retention?: RetentionPolicy | false;
  readonly now?: () => Date;
  readonly log?: (line: string) => void;
  /** Test hook: runs between the dump and its verification (e.g. to damage the archive). */
  readonly beforeVerify?: (partialPath: string) => void | Promise<void>;
}

export interface Manifest {
  readonly service: string;
  readonly database: string;
  readonly file: string;
  readonly createdAt: string;
  readonly sizeBytes: number;
  readonly sha256: string;
  readonly serverVersion: string;
  readonly pgDumpVersion: string;
  /** Exact row counts per table, in the snapshot of the dump; restore checks the scratch copy against them. */
  readonly tables: RowCounts;
}

export interface BackupResult {
  readonly name: string;
  readonly path: string;
  readonly manifest: Manifest;
  readonly durationSeconds: number;
  readonly rotation?: RotationPlan;
}

export async function runBackup(options: BackupOptions): Promise<BackupResult> {
  const log = options.log ?? (() => undefined);
  const now = options.now ?? (() => new Date());
  const conn = parseDatabaseUrl(options.databaseUrl);
  const started = now();
  const t0 = performance.now();
  const name = backupName(options.service, started);
  mkdirSync(options.dir, { recursive: true });
  const path = join(options.dir, name);
  const partial = `${path}.partial`;

  try {
    log(`dumping ${conn.database} on ${conn.host}:${conn.port} to ${path}`);
    const { tables, serverVersion } = await dumpInSnapshot(conn, partial);
    const sha256 = await sha256File(partial);
    const sizeBytes = statSync(partial).size;
    log(`dumped ${sizeBytes} bytes, sha256 ${sha256}, ${Object.keys(tables).length} tables`);

    await options.beforeVerify?.(partial);
    await verifyDump(conn, partial, tables, options.maintenanceDatabase ?? 'postgres', timestamp(started).toLowerCase(), log);
    // The file verified is the file published: hash again, in case it changed under us.
    if ((await sha256File(partial)) !== sha256) throw new BackupError(`${partial} changed during verification`);

    const pgDumpVersion = (await runTool('pg_dump', ['--version'], conn)).stdout.trim();
    const manifest: Manifest = {
      service: options.service,
      database: conn.database,
      file: name,
      createdAt: started.toISOString(),
      sizeBytes,
      sha256,
      serverVersion,
      pgDumpVersion,
      tables,
    };
    writeFileSync(`${path}${MANIFEST_EXT}`, `${JSON.stringify(manifest, null, 2)}\n`);
    writeChecksum(`${path}${CHECKSUM_EXT}`, name, sha256);
    renameSync(partial, path);
    log(`verified and published ${name}`);

    const rotation = options.retention === false ? undefined : rotate(options.dir, options.service, options.retention ?? DEFAULT_RETENTION);
    if (rotation && rotation.remove.length > 0) log(`rotation removed ${rotation.remove.join(', ')}`);
    return { name, path, manifest, durationSeconds: (performance.now() - t0) / 1000, ...(rotation ? { rotation } : {}) };
  } catch (err) {
    rmSync(partial, { force: true });
    throw err;
  }
}

/** pg_dump inside an exported snapshot whose row counts are taken in the same transaction. */
async function dumpInSnapshot(conn: ConnInfo, file: string): Promise<{ tables: RowCounts; serverVersion: string }> {
  const session = new PsqlSession(conn);
  try {
    await session.query('begin isolation level repeatable read read only');
    const [[snapshot]] = (await session.query('select pg_export_snapshot()')) as [[string]];
    const tables = await rowCountsIn(session);
    const [[serverVersion]] = (await session.query('show server_version')) as [[string]];
    await runTool('pg_dump', ['--format=custom', `--snapshot=${snapshot}`, `--file=${file}`, `--dbname=${conn.database}`], conn);
    await session.query('commit');
    return { tables, serverVersion };
  } finally {
    await session.close();
  }
}

/**
 * Restores the archive into a scratch database and compares exact row counts per table with `expected`;
 * the scratch database is dropped whatever happens.
 */
export async function verifyDump(
  conn: ConnInfo,
  file: string,
  expected: RowCounts,
  maintenanceDatabase: string,
  suffix: string,
  log: (line: string) => void = () => undefined,
): Promise<void> {
  const maintenance = onDatabase(conn, maintenanceDatabase);
  const scratch = derivedName(conn.database, `verify_${suffix}`);
  await createDatabase(maintenance, scratch);
  try {
    await restoreInto(conn, scratch, file);
    const actual = await rowCounts(onDatabase(conn, scratch));
    const diffs = compareCounts(expected, actual);
    if (diffs.length > 0) throw new BackupError(`verification failed: the restored copy differs from the source: ${diffs.join('; ')}`);
    log(`verified: restored into ${scratch}, ${Object.keys(actual).length} tables with identical row counts`);
  } finally {
    await dropDatabase(maintenance, scratch);
  }
}

/** Checks the server answers before anything else, with a readable error (bad URL, password, host). */
export async function ping(databaseUrl: string): Promise<void> {
  await query(parseDatabaseUrl(databaseUrl), 'select 1');
}
