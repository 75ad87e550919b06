/**
 * The PostgreSQL client tools (pg_dump, pg_restore, psql) as the backup logic uses them. No npm
 * dependency: the backup image is the official postgres image plus a node binary, so everything talks to
 * the server through the client tools that ship with it.
 *
 * Connection settings go to the tools as libpq environment variables (PGHOST, PGPASSWORD...), never as
 * arguments: a password in argv is visible to every process of the machine (ps, /proc/<pid>/cmdline).
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export class BackupError extends Error {
  override readonly name = 'BackupError';
}

/**
 * Where pg_dump, pg_restore and psql are: $PG_BIN_DIR, else the newest /usr/lib/postgresql/<major>/bin
 * (Debian and the official image), else PATH. The newest major matters: pg_dump refuses a newer server.
 */
export function pgBinDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.PG_BIN_DIR) return env.PG_BIN_DIR;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const majors = readdirSync(root).filter((d) => /^\d+$/.test(d) && existsSync(join(root, d, 'bin', 'pg_dump')));
  const newest = majors.sort((a, b) => Number(b) - Number(a))[0];
  return newest ? join(root, newest, 'bin') : undefined;
}

export const tool = (name: 'pg_dump' | 'pg_restore' | 'psql') => {
  const dir = pgBinDir();
  return dir ? join(dir, name) : name;
};

/** A PostgreSQL URL split into what libpq reads from the environment. */
export interface ConnInfo {
  readonly host: string;
  readonly port: string;
  readonly user: string;
  readonly password?: string;
  readonly database: string;
  /** sslmode and other query parameters that libpq has environment variables for. */
  readonly sslmode?: string;
}

export function parseDatabaseUrl(url: string): ConnInfo {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new BackupError(`not a PostgreSQL URL: ${redact(url)}`);
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') throw new BackupError(`not a PostgreSQL URL (postgres://...): ${redact(url)}`);
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (!database) throw new BackupError(`the URL names no database: ${redact(url)}`);
  return {
    host: decodeURIComponent(u.hostname) || 'localhost',
    port: u.port || '5432',
    user: decodeURIComponent(u.username) || 'postgres',
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    database,
    ...(u.searchParams.get('sslmode') ? { sslmode: u.searchParams.get('sslmode')! } : {}),
  };
}

/** The URL with its password replaced, for messages and logs. */
export function redact(url: string): string {
  return url.replace(/(\/\/[^:/@]+:)[^@]*@/, '$1***@');
}

/** The same server, another database. */
export const onDatabase = (conn: ConnInfo, database: string): ConnInfo => ({ ...conn, database });

export function libpqEnv(conn: ConnInfo): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PGHOST: conn.host, PGPORT: conn.port, PGUSER: conn.user, PGDATABASE: conn.database };
  delete env.PGPASSWORD;
  delete env.DATABASE_URL;
  if (conn.password !== undefined) env.PGPASSWORD = conn.password;
  if (conn.sslmode) env.PGSSLMODE = conn.sslmode;
  // Never prompt: a missing password must fail, not hang a CronJob.
  env.PGCONNECT_TIMEOUT ??= '10';
  return env;
}

export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a client tool against `conn`; rejects with its stderr on a non-zero exit. */
export function runTool(name: 'pg_dump' | 'pg_restore' | 'psql', args: string[], conn: ConnInfo, input?: string): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const argv = args[0] === '--version' ? args : ['--no-password', ...args];
    const child = spawn(tool(name), argv, { env: libpqEnv(conn), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (err) => reject(new BackupError(`${name} could not be started (${err.message}): install the PostgreSQL client tools or set PG_BIN_DIR`)));
    child.on('close', (code) => {
      if (code === 0) resolve({ code, stdout, stderr });
      else reject(new BackupError(`${name} ${args.filter((a) => !a.startsWith('--snapshot')).join(' ')} failed (exit ${code}): ${stderr.trim()}`));
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
  });
}

const FIELD = '\x1f';
const psqlArgs = ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-F', FIELD];

/** Runs SQL with psql and returns the rows of the last statement (fields as text, NULL as ''). */
export async function query(conn: ConnInfo, sql: string): Promise<string[][]> {
  const r = await runTool('psql', [...psqlArgs, '-f', '-'], conn, sql);
  return rows(r.stdout);
}

const rows = (text: string) =>
  text
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => l.split(FIELD));

/** A SQL identifier, quoted. */
export const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;
/** A SQL string literal. */
export const literal = (text: string) => `'${text.replaceAll("'", "''")}'`;

/**
 * One psql process kept open: statements run in the same session, so a transaction (and the snapshot
 * it exported) stays alive between them. Each call writes the SQL and then an \echo of a marker, and
 * reads stdout up to the marker; with ON_ERROR_STOP an error ends psql and fails the pending call.
 */
export class PsqlSession {
  private readonly child;
  private buffer = '';
  private stderr = '';
  private pending: { marker: string; resolve: (rows: string[][]) => void; reject: (e: Error) => void } | undefined;
  private closed: Error | undefined;
  private seq = 0;

  constructor(conn: ConnInfo) {
    this.child = spawn(tool('psql'), ['--no-password', ...psqlArgs], { env: libpqEnv(conn), stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout.on('data', (d: Buffer) => {
      this.buffer += d.toString();
      this.flush();
    });
    this.child.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.child.stdin.on('error', () => undefined);
    const fail = (err: Error) => {
      this.closed = err;
      this.pending?.reject(err);
      this.pending = undefined;
    };
    this.child.on('error', (err) => fail(new BackupError(`psql could not be started: ${err.message}`)));
    this.child.on('close', (code) => fail(new BackupError(`psql session ended (exit ${code}): ${this.stderr.trim()}`)));
  }

  private flush() {
    if (!this.pending) return;
    const at = this.buffer.indexOf(`${this.pending.marker}\n`);
    if (at < 0) return;
    const out = this.buffer.slice(0, at);
    this.buffer = this.buffer.slice(at + this.pending.marker.length + 1);
    const p = this.pending;
    this.pending = undefined;
    p.resolve(rows(out));
  }

  query(sql: string): Promise<string[][]> {
    if (this.closed) return Promise.reject(this.closed);
    if (this.pending) return Promise.reject(new Error('PsqlSession runs one statement at a time'));
    const marker = `__courseops_done_${process.pid}_${++this.seq}__`;
    return new Promise((resolve, reject) => {
      this.pending = { marker, resolve, reject };
      this.child.stdin.write(`${sql.trim().replace(/;?$/, ';')}\n\\echo ${marker}\n`);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    const done = new Promise<void>((r) => this.child.once('close', () => r()));
    this.child.stdin.end('\\q\n');
    await done;
  }
}
