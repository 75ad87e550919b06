import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The newest installed PostgreSQL's bin folder (Debian puts it under /usr/lib/postgresql/<major>/bin). */
export function postgresBinDir(): string {
  try {
    const dir = execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim();
    if (existsSync(join(dir, 'initdb'))) return dir;
  } catch {
    // pg_config is in libpq-dev, which a server install does not need.
  }
  const root = '/usr/lib/postgresql';
  const majors = existsSync(root) ? readdirSync(root).filter((d) => existsSync(join(root, d, 'bin', 'initdb'))) : [];
  const newest = majors.sort((a, b) => Number(b) - Number(a))[0];
  if (!newest) throw new Error('PostgreSQL server binaries not found: install Debian\'s "postgresql" package (npm test does it)');
  return join(root, newest, 'bin');
}

export interface TemporaryPostgres {
  url: string;
  stop: () => Promise<void>;
}

/**
 * A throwaway PostgreSQL server in a temporary folder on a loopback port: real PostgreSQL, no shared
 * state with the machine's own cluster. As root it runs as the `postgres` user (the server refuses root).
 */
export async function startTemporaryPostgres(port: number): Promise<TemporaryPostgres> {
  const bin = postgresBinDir();
  const dir = mkdtempSync(join(tmpdir(), 'courseops-pg-'));
  chmodSync(dir, 0o777);
  const asRoot = process.getuid?.() === 0;
  const run = (cmd: string, args: string[]) =>
    asRoot ? (['runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args]] as const) : ([join(bin, cmd), args] as const);
  const password = randomBytes(12).toString('hex');
  const pwfile = join(dir, 'pw');
  execFileSync('sh', ['-c', `printf %s "${password}" > ${pwfile} && chmod 644 ${pwfile}`]);
  const [initCmd, initArgs] = run('initdb', ['-D', join(dir, 'data'), '-U', 'courseops', '--pwfile', pwfile, '-A', 'scram-sha-256', '--no-sync']);
  execFileSync(initCmd, [...initArgs], { stdio: 'pipe' });
  const [cmd, args] = run('postgres', [
    '-D', join(dir, 'data'), '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1',
    '-c', 'fsync=off', '-c', 'max_connections=300', '-c', 'shared_buffers=128MB',
  ]);
  // Its own process group: `runuser` does not pass signals on, so stop() signals the whole group.
  const server: ChildProcess = spawn(cmd, [...args], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let log = '';
  server.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  const url = `postgres://courseops:${password}@127.0.0.1:${port}/postgres`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      await client.end();
      break;
    } catch (err) {
      await client.end().catch(() => undefined);
      if (server.exitCode !== null || Date.now() > deadline) throw new Error(`PostgreSQL did not start: ${String(err)}\n${log}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return {
    url,
    stop: async () => {
      if (server.exitCode === null) {
        const exited = new Promise((r) => server.once('exit', r));
        process.kill(-server.pid!, 'SIGINT'); // PostgreSQL's fast shutdown
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A fresh, empty database on the test server, so each test file starts clean. */
export async function createTestDatabase(serverUrl: string, prefix: string): Promise<string> {
  const name = `${prefix.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`;
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(`create database "${name}"`);
  } finally {
    await client.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
