/**
 * What backup and restore ask the server: the tables and their exact row counts, scratch databases, the
 * checksum of a dump file. Shared by backup.ts (verification) and restore.ts (before the swap).
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { BackupError, ident, literal, query, runTool, type ConnInfo, type PsqlSession } from './pg.js';

/** `schema.table` -> exact row count. */
export type RowCounts = Record<string, number>;

/** Ordinary tables of the database, without the catalogs and tables that belong to an extension. */
export const TABLES_SQL = `
select n.nspname, c.relname
from pg_class c join pg_namespace n on n.oid = c.relnamespace
where c.relkind = 'r'
  and n.nspname not in ('pg_catalog', 'information_schema')
  and n.nspname not like 'pg_toast%' and n.nspname not like 'pg_temp%'
  and not exists (select 1 from pg_depend d where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype = 'e')
order by 1, 2`;

const countSql = (tables: string[][]) =>
  tables.map(([schema, table]) => `select ${literal(`${schema}.${table}`)}, count(*) from ${ident(schema!)}.${ident(table!)}`).join('\nunion all\n');

const toCounts = (rows: string[][]): RowCounts => Object.fromEntries(rows.map(([t, n]) => [t!, Number(n)]));

/** Exact counts (count(*), not statistics) of every table, in one statement: one snapshot. */
export async function rowCounts(conn: ConnInfo): Promise<RowCounts> {
  const tables = await query(conn, TABLES_SQL);
  return tables.length === 0 ? {} : toCounts(await query(conn, countSql(tables)));
}

/** The same inside an open session (e.g. the transaction whose snapshot pg_dump uses). */
export async function rowCountsIn(session: PsqlSession): Promise<RowCounts> {
  const tables = await session.query(TABLES_SQL);
  return tables.length === 0 ? {} : toCounts(await session.query(countSql(tables)));
}

/** Differences between two count maps, as readable lines; empty when they are identical. */
export function compareCounts(expected: RowCounts, actual: RowCounts): string[] {
  const diffs: string[] = [];
  for (const t of new Set([...Object.keys(expected), ...Object.keys(actual)])) {
    if (!(t in actual)) diffs.push(`${t}: missing (expected ${expected[t]} rows)`);
    else if (!(t in expected)) diffs.push(`${t}: unexpected table (${actual[t]} rows)`);
    else if (expected[t] !== actual[t]) diffs.push(`${t}: ${actual[t]} rows, expected ${expected[t]}`);
  }
  return diffs.sort();
}

/** PostgreSQL truncates identifiers to 63 bytes: the suffix (timestamp) must survive. */
export function derivedName(database: string, suffix: string): string {
  return `${database.slice(0, 63 - suffix.length - 1)}_${suffix}`;
}

export async function databaseExists(maintenance: ConnInfo, name: string): Promise<boolean> {
  return (await query(maintenance, `select 1 from pg_database where datname = ${literal(name)}`)).length > 0;
}

export async function createDatabase(maintenance: ConnInfo, name: string): Promise<void> {
  await query(maintenance, `create database ${ident(name)}`);
}

/** Drops a scratch database even if something is still connected to it (PostgreSQL 13+). */
export async function dropDatabase(maintenance: ConnInfo, name: string): Promise<void> {
  await query(maintenance, `drop database if exists ${ident(name)} with (force)`);
}

/**
 * pg_restore of a custom-format archive into an existing, empty database: one transaction, stop at the
 * first error, so a failed restore leaves nothing half-restored behind.
 */
export async function restoreInto(conn: ConnInfo, database: string, file: string, options: { noOwner?: boolean } = {}): Promise<void> {
  await runTool(
    'pg_restore',
    ['--exit-on-error', '--single-transaction', ...(options.noOwner ? ['--no-owner', '--no-privileges'] : []), `--dbname=${database}`, file],
    { ...conn, database },
  );
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** `<hex>  <file name>` (sha256sum's format, so `sha256sum -c <name>.sha256` checks it too). */
export function writeChecksum(checksumPath: string, fileName: string, hex: string): void {
  writeFileSync(checksumPath, `${hex}  ${fileName}\n`);
}

/**
 * Refuses a dump without a checksum file or whose content does not hash to it: a flipped bit or a
 * truncated copy must never reach pg_restore, let alone replace a live database.
 */
export async function verifyChecksum(dumpPath: string, checksumPath: string): Promise<string> {
  if (!existsSync(checksumPath)) throw new BackupError(`refusing ${basename(dumpPath)}: no checksum file ${basename(checksumPath)}`);
  const m = /^([0-9a-f]{64})\s+\*?(.+)$/m.exec(readFileSync(checksumPath, 'utf8').trim());
  if (!m) throw new BackupError(`refusing ${basename(dumpPath)}: ${basename(checksumPath)} is not a sha256 checksum file`);
  if (m[2] !== basename(dumpPath)) throw new BackupError(`refusing ${basename(dumpPath)}: ${basename(checksumPath)} is the checksum of ${m[2]}`);
  const actual = await sha256File(dumpPath);
  if (actual !== m[1]) {
    throw new BackupError(`refusing ${basename(dumpPath)}: checksum mismatch (file ${actual}, expected ${m[1]}): the backup is corrupted or incomplete`);
  }
  return actual;
}
