import { createTestDatabase } from '@courseops/kit/testing';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runBackup } from '../backup/backup.js';
import { sha256File } from '../backup/database.js';
import { runRestore } from '../backup/restore.js';

/**
 * Backup and restore against the real PostgreSQL server of the test run (globalSetup), with the real
 * pg_dump/pg_restore/psql: every test gets its own database and backup folder.
 */
const dirs: string[] = [];
const newDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'courseops-backup-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** Two schemas, types that a careless dump/restore gets wrong (NULL, unicode, bytea, jsonb, arrays, timestamps), a FK and a sequence. */
const SCHEMA = `
create table courses (id serial primary key, title text not null, starts_at timestamptz, tags text[], meta jsonb);
create table enrolments (id bigserial primary key, course_id int not null references courses(id), student text, grade numeric(4,2), photo bytea);
create schema archive;
create table archive."Old Courses" (id int primary key, title text);
`;

async function seed(url: string, courses = 50) {
  await withClient(url, async (c) => {
    await c.query(SCHEMA);
    for (let i = 1; i <= courses; i++) {
      await c.query('insert into courses (title, starts_at, tags, meta) values ($1, $2, $3, $4)', [
        i % 7 === 0 ? `Cours n°${i} — «ünïcödé» 🚀` : `Course ${i}`,
        i % 5 === 0 ? null : new Date(Date.UTC(2026, 0, i, 9, 30)),
        i % 3 === 0 ? [] : ['a', `t${i}`],
        i % 4 === 0 ? null : { n: i, nested: { quote: "it's \"quoted\"" } },
      ]);
      await c.query('insert into enrolments (course_id, student, grade, photo) values ($1, $2, $3, $4), ($1, $5, null, null)', [
        i,
        `student-${i}`,
        (i % 20) / 2,
        Buffer.from([0, 255, i % 256, 10, 13]),
        `other-${i}`,
      ]);
    }
    await c.query(`insert into archive."Old Courses" values (1, 'tab\there'), (2, E'line\\nbreak'), (3, null)`);
  });
}

/** Every row of every table, in primary key order, as text: "identical rows", not just equal counts. */
async function contents(url: string): Promise<Record<string, string[]>> {
  return withClient(url, async (c) => {
    const out: Record<string, string[]> = {};
    for (const t of ['public.courses', 'public.enrolments', 'archive."Old Courses"']) {
      const r = await c.query(`select t::text as row from ${t} t order by 1`);
      out[t] = r.rows.map((x: { row: string }) => x.row);
    }
    out.sequences = (await c.query(`select last_value::text from courses_id_seq union all select last_value::text from enrolments_id_seq`)).rows.map(
      (x: { last_value: string }) => x.last_value,
    );
    return out;
  });
}

const dbName = (url: string) => new URL(url).pathname.slice(1);
const databases = async (serverUrl: string, like: string) =>
  withClient(serverUrl, async (c) => (await c.query('select datname from pg_database where datname like $1 order by 1', [`${like}%`])).rows.map((r: { datname: string }) => r.datname));

let server: string;
beforeAll(() => {
  server = inject('postgresUrl');
});

describe('backup -> wipe -> restore', () => {
  it('gives back identical rows in every table, sequences included, after the tables were dropped', async () => {
    const url = await createTestDatabase(server, 'bk_roundtrip');
    const dir = newDir();
    await seed(url);
    const before = await contents(url);

    const backup = await runBackup({ service: 'course', databaseUrl: url, dir, retention: false });
    expect(backup.name).toMatch(/^course-\d{8}T\d{6}Z\.dump$/);
    expect(readdirSync(dir).sort()).toEqual([backup.name, `${backup.name}.json`, `${backup.name}.sha256`].sort());
    expect(backup.manifest.tables).toEqual({ 'public.courses': 50, 'public.enrolments': 100, 'archive.Old Courses': 3 });
    expect(readFileSync(join(dir, `${backup.name}.sha256`), 'utf8')).toBe(`${await sha256File(backup.path)}  ${backup.name}\n`);

    // the wipe: everything dropped, and the database then used for something else
    await withClient(url, (c) => c.query('drop table enrolments; drop table courses; drop schema archive cascade; create table scratch (x int)'));

    const restored = await runRestore({ service: 'course', backup: backup.name, databaseUrl: url, dir });
    expect(restored.database).toBe(dbName(url));
    expect(await contents(url)).toEqual(before);
    // the restored database is exactly the backup: the table created after the backup is gone
    expect(await withClient(url, async (c) => (await c.query(`select to_regclass('public.scratch') as t`)).rows[0].t)).toBeNull();
    // the replaced database is kept, under its old name, with the post-wipe state
    expect(restored.oldDatabase).toMatch(new RegExp(`^${dbName(url)}_old_\\d{8}t\\d{6}z$`));
    const oldUrl = new URL(url);
    oldUrl.pathname = `/${restored.oldDatabase}`;
    expect(await withClient(oldUrl.toString(), async (c) => (await c.query(`select to_regclass('public.scratch')::text as t`)).rows[0].t)).toBe('scratch');
    // no scratch database is left behind
    expect(await databases(server, `${dbName(url)}_restore_`)).toEqual([]);
    expect(await databases(server, `${dbName(url)}_verify_`)).toEqual([]);
  });

  it('restores into a database that no longer exists (lost volume, new cluster)', async () => {
    const url = await createTestDatabase(server, 'bk_lost');
    const dir = newDir();
    await seed(url, 10);
    const before = await contents(url);
    const backup = await runBackup({ service: 'course', databaseUrl: url, dir, retention: false });
    await withClient(server, (c) => c.query(`drop database "${dbName(url)}" with (force)`));

    const restored = await runRestore({ service: 'course', backup: backup.path, databaseUrl: url, dir });
    expect(restored.createdLive).toBe(true);
    expect(await contents(url)).toEqual(before);
  });
});

describe('a corrupted backup is rejected and the live database is untouched', () => {
  async function prepared(prefix: string) {
    const url = await createTestDatabase(server, prefix);
    const dir = newDir();
    await seed(url, 20);
    const backup = await runBackup({ service: 'course', databaseUrl: url, dir, retention: false });
    // the live database moves on after the backup: a restore would roll this row back
    await withClient(url, (c) => c.query(`insert into courses (title) values ('written after the backup')`));
    return { url, dir, backup, live: await contents(url) };
  }

  const expectUntouched = async (url: string, live: Record<string, string[]>) => {
    expect(await contents(url)).toEqual(live);
    expect(await databases(server, `${dbName(url)}_`)).toEqual([]); // no scratch, no "old" copy: no swap happened
  };

  it('one flipped byte: checksum mismatch', async () => {
    const { url, dir, backup, live } = await prepared('bk_flip');
    const bytes = readFileSync(backup.path);
    const at = Math.floor(bytes.length / 2);
    bytes[at] = bytes[at]! ^ 0x01;
    writeFileSync(backup.path, bytes);
    await expect(runRestore({ service: 'course', backup: backup.name, databaseUrl: url, dir })).rejects.toThrow(/checksum mismatch/);
    await expectUntouched(url, live);
  });

  it('a truncated file: checksum mismatch', async () => {
    const { url, dir, backup, live } = await prepared('bk_trunc');
    truncateSync(backup.path, Math.floor(backup.manifest.sizeBytes / 3));
    await expect(runRestore({ service: 'course', backup: backup.name, databaseUrl: url, dir })).rejects.toThrow(/checksum mismatch/);
    await expectUntouched(url, live);
  });

  it('a missing checksum file: refused', async () => {
    const { url, dir, backup, live } = await prepared('bk_nosum');
    rmSync(`${backup.path}.sha256`);
    await expect(runRestore({ service: 'course', backup: backup.name, databaseUrl: url, dir })).rejects.toThrow(/no checksum file/);
    await expectUntouched(url, live);
  });

  it('a corrupted archive whose checksum was recomputed: pg_restore fails in the scratch database, live untouched', async () => {
    const { url, dir, backup, live } = await prepared('bk_resum');
    truncateSync(backup.path, Math.floor(backup.manifest.sizeBytes / 2));
    writeFileSync(`${backup.path}.sha256`, `${await sha256File(backup.path)}  ${backup.name}\n`);
    await expect(runRestore({ service: 'course', backup: backup.name, databaseUrl: url, dir })).rejects.toThrow(/pg_restore/);
    await expectUntouched(url, live);
  });

  it('bad input: unknown backup, another service\'s backup, not a backup name', async () => {
    const { url, dir, backup, live } = await prepared('bk_input');
    await expect(runRestore({ service: 'course', backup: 'course-20200101T000000Z.dump', databaseUrl: url, dir })).rejects.toThrow(
      new RegExp(`not found in ${dir}; available: ${backup.name.replace('.', '\\.')}`),
    );
    copyFileSync(backup.path, join(dir, 'teacher-20260101T000000Z.dump'));
    await expect(runRestore({ service: 'course', backup: 'teacher-20260101T000000Z.dump', databaseUrl: url, dir })).rejects.toThrow(
      /is a backup of teacher, not of course/,
    );
    await expect(runRestore({ service: 'course', backup: 'latest', databaseUrl: url, dir })).rejects.toThrow(/not a backup name/);
    // the swap renames the live database from the maintenance database: they cannot be the same
    await expect(runRestore({ service: 'course', backup: backup.name, databaseUrl: url, dir, maintenanceDatabase: dbName(url) })).rejects.toThrow(
      /cannot restore over the maintenance database/,
    );
    await expectUntouched(url, live);
  });
});

describe('verification', () => {
  it('rejects a dump whose restored copy does not match the source snapshot, and publishes nothing', async () => {
    const url = await createTestDatabase(server, 'bk_verify');
    const dir = newDir();
    await seed(url, 5);
    const first = await runBackup({ service: 'course', databaseUrl: url, dir, retention: false, now: () => new Date('2026-11-01T02:00:00Z') });
    await withClient(url, (c) => c.query(`insert into courses (title) values ('six')`));
    // Swap the fresh dump for the older one between dump and verification: the counts taken in the
    // dump's snapshot (6 courses) no longer match what restores (5).
    const attempt = runBackup({
      service: 'course',
      databaseUrl: url,
      dir,
      retention: false,
      now: () => new Date('2026-11-02T02:00:00Z'),
      beforeVerify: (partial) => copyFileSync(first.path, partial),
    });
    await expect(attempt).rejects.toThrow(/verification failed.*public\.courses: 5 rows, expected 6/);
    expect(readdirSync(dir).sort()).toEqual([first.name, `${first.name}.json`, `${first.name}.sha256`].sort());
    expect(await databases(server, `${dbName(url)}_verify_`)).toEqual([]);
  });

  it('fails with a readable error on a wrong password, leaving no file', async () => {
    const url = new URL(await createTestDatabase(server, 'bk_badpw'));
    url.password = 'wrong';
    const dir = newDir();
    await expect(runBackup({ service: 'course', databaseUrl: url.toString(), dir })).rejects.toThrow(/password authentication failed/);
    expect(readdirSync(dir)).toEqual([]);
    expect(existsSync(dir)).toBe(true);
  });
});

describe('restore during traffic', () => {
  it('loses nothing that was acknowledged before the backup started', async () => {
    const url = await createTestDatabase(server, 'bk_traffic');
    const dir = newDir();
    await withClient(url, (c) => c.query('create table events (id bigint primary key, at timestamptz default now())'));

    // A writer that inserts one row at a time and records the ids PostgreSQL acknowledged (the insert
    // returned); a failed insert (terminated connection, database closed during the swap) is not acknowledged.
    const acknowledged: { id: number; at: number }[] = [];
    let stop = false;
    let failures = 0;
    const writer = (async () => {
      let id = 0;
      let client: pg.Client | undefined;
      while (!stop) {
        try {
          if (!client) {
            client = new pg.Client({ connectionString: url });
            client.on('error', () => undefined);
            await client.connect();
          }
          const n = ++id;
          await client.query('insert into events (id) values ($1)', [n]);
          acknowledged.push({ id: n, at: performance.now() });
        } catch {
          failures++;
          await client?.end().catch(() => undefined);
          client = undefined;
          await new Promise((r) => setTimeout(r, 20));
        }
      }
      await client?.end().catch(() => undefined);
    })();

    const waitFor = async (n: number) => {
      while (acknowledged.length < n) await new Promise((r) => setTimeout(r, 10));
    };
    await waitFor(200);
    const backupStarted = performance.now();
    const backup = await runBackup({ service: 'course', databaseUrl: url, dir, retention: false });
    const inBackup = backup.manifest.tables['public.events']!;
    const ackedBeforeBackup = acknowledged.filter((a) => a.at < backupStarted).map((a) => a.id);
    await waitFor(acknowledged.length + 200); // traffic goes on after the backup

    const restored = await runRestore({ service: 'course', backup: backup.name, databaseUrl: url, dir });
    await waitFor(acknowledged.length + 100); // and reconnects to the restored database
    stop = true;
    await writer;

    const ids = await withClient(url, async (c) => new Set((await c.query('select id::int as id from events')).rows.map((r: { id: number }) => r.id)));
    expect(ackedBeforeBackup.length).toBeGreaterThanOrEqual(200);
    expect(ackedBeforeBackup.filter((id) => !ids.has(id))).toEqual([]);
    // the backup holds a consistent prefix: at least everything acknowledged before it started
    expect(inBackup).toBeGreaterThanOrEqual(ackedBeforeBackup.length);
    expect(restored.oldDatabase).toBeDefined();
    expect(failures).toBeGreaterThan(0); // the swap did cut the writer's connection
  }, 60_000);
});
