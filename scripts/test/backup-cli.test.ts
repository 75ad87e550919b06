import { createTestDatabase } from '@courseops/kit/testing';
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseArgs } from '../backup/args.js';
import { clusterPlan, jobArgs, jobFromCronJob, runCluster } from '../backup/cluster.js';
import { renderCommand, type Runner } from '../cluster/commands.js';
import { buildPlatform } from '../../cdk8s/src/app.js';
import { render } from '../../cdk8s/src/synth.js';

/**
 * The command line: `npm run backup|restore` in local mode (the real CLI as a child process, against the
 * test run's PostgreSQL), the metrics it pushes (to a small HTTP receiver standing in for the Pushgateway's
 * push API), bad input, and the cluster mode's kubectl plan (the Job built from the synthesized CronJob).
 */
const REPO = new URL('../../', import.meta.url).pathname;
const run = promisify(execFile);

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(join(REPO, 'node_modules/.bin/tsx'), ['--conditions=source', join(REPO, 'scripts/backup/cli.ts'), ...args], {
      cwd: REPO,
      env: { ...process.env, DATABASE_URL: '' },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Records every request: method, path, body. */
let pushes: { method: string; url: string; body: string }[] = [];
let receiver: Server;
let pushUrl: string;
beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      pushes.push({ method: req.method!, url: req.url!, body });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  pushUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}`;
});
afterAll(() => new Promise<void>((r) => receiver.close(() => r())));

describe('local mode: npm run backup / restore against a PostgreSQL URL', () => {
  it('backs up, lists, restores after a wipe; pushes success metrics', async () => {
    const url = await createTestDatabase(inject('postgresUrl'), 'bk_cli');
    const dir = mkdtempSync(join(tmpdir(), 'courseops-backup-cli-'));
    dirs.push(dir);
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    await db.query(`create table notes (id int primary key, body text); insert into notes select i, 'note ' || i from generate_series(1, 500) i`);
    pushes = [];

    const b = await cli('backup', 'status', '--database-url', url, '--dir', dir, '--push-url', pushUrl);
    expect(b.stderr).toBe('');
    expect(b.code).toBe(0);
    const name = readdirSync(dir).find((f) => f.endsWith('.dump'))!;
    expect(name).toMatch(/^status-\d{8}T\d{6}Z\.dump$/);
    expect(b.stdout).toContain(`verified and published ${name}`);
    expect(b.stdout).not.toContain(new URL(url).password); // the password never reaches the output

    const database = new URL(url).pathname.slice(1);
    expect(pushes).toHaveLength(1);
    expect(pushes[0]!.method).toBe('POST');
    expect(pushes[0]!.url).toBe(`/metrics/job/courseops-backup/namespace/courseops/service/status/database/${database}`);
    expect(pushes[0]!.body).toMatch(/^backup_last_status 1$/m);
    expect(pushes[0]!.body).toMatch(/^backup_last_success_timestamp_seconds \d{10}(\.\d+)?$/m);
    expect(pushes[0]!.body).toMatch(/^backup_last_size_bytes [1-9]\d*$/m);

    const l = await cli('backup', 'list', 'status', '--dir', dir);
    expect(l.stdout).toMatch(new RegExp(`^${name.replace('.', '\\.')}  \\d+ bytes  500 rows  sha256$`, 'm'));

    await db.query('delete from notes where id > 10');
    await db.end();
    const r = await cli('restore', 'status', name, '--database-url', url, '--dir', dir, '--drop-old');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`restored ${name} into ${database}`);
    const after = new pg.Client({ connectionString: url });
    await after.connect();
    expect((await after.query('select count(*)::int as n, sum(id)::int as s from notes')).rows[0]).toEqual({ n: 500, s: 125250 });
    await after.end();
  });

  it('a failed backup exits 1, says why, and pushes status 0 without touching the last success', async () => {
    const url = new URL(await createTestDatabase(inject('postgresUrl'), 'bk_cli_fail'));
    url.password = 'wrong';
    const dir = mkdtempSync(join(tmpdir(), 'courseops-backup-cli-'));
    dirs.push(dir);
    pushes = [];
    const b = await cli('backup', 'course', '--database-url', url.toString(), '--dir', dir, '--push-url', pushUrl);
    expect(b.code).toBe(1);
    expect(b.stderr).toMatch(/backup failed: .*password authentication failed/);
    expect(b.stderr).not.toContain('wrong@');
    expect(pushes).toHaveLength(1);
    expect(pushes[0]!.body).toMatch(/^backup_last_status 0$/m);
    expect(pushes[0]!.body).not.toMatch(/^backup_last_success_timestamp_seconds /m);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('rejects bad input with a clear message', async () => {
    expect(await cli('restore', 'course')).toMatchObject({ code: 2, stderr: expect.stringMatching(/^restore: which backup\?/) });
    expect(await cli('backup')).toMatchObject({ code: 2, stderr: expect.stringMatching(/^backup: which service\?/) });
    expect(await cli('backup', 'course', '--database-url', 'postgres://x@h/db')).toMatchObject({ code: 2, stderr: expect.stringMatching(/needs --dir/) });
    expect(await cli('backup', 'course', '--bogus')).toMatchObject({ code: 2, stderr: expect.stringMatching(/unknown option --bogus/) });
    const dir = mkdtempSync(join(tmpdir(), 'courseops-backup-cli-'));
    dirs.push(dir);
    expect(await cli('restore', 'course', 'course-20260101T000000Z.dump', '--database-url', 'postgres://x@127.0.0.1:1/db', '--dir', dir)).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/backup course-20260101T000000Z\.dump not found in .*no backup of this service there/),
    });
    expect(await cli('backup', 'course', '--database-url', 'mysql://x@h/db', '--dir', dir)).toMatchObject({ code: 1, stderr: expect.stringMatching(/not a PostgreSQL URL/) });
  });
});

describe('cluster mode: kubectl plan', () => {
  const cronJob = (service: string) =>
    (render(buildPlatform()).objects as { kind: string; metadata: { name: string } }[]).find((o) => o.kind === 'CronJob' && o.metadata.name === `${service}-backup`)!;
  const now = new Date('2026-11-23T10:00:00Z');

  it('backup: a Job from the CronJob, its log followed, its completion awaited', () => {
    const plan = clusterPlan(parseArgs(['backup', 'course']), now);
    expect(plan.commands.map(renderCommand)).toEqual([
      'kubectl --context kind-courseops -n courseops get cronjob course-backup -o json',
      'kubectl --context kind-courseops -n courseops create job course-backup-manual-20261123t100000z --from=cronjob/course-backup',
      'kubectl --context kind-courseops -n courseops logs -f job/course-backup-manual-20261123t100000z --pod-running-timeout=5m',
      'kubectl --context kind-courseops -n courseops get job course-backup-manual-20261123t100000z -o json   # polled until the Job is Complete or Failed',
    ]);
  });

  it('restore: a Job from the CronJob job template with the restore arguments', () => {
    const args = parseArgs(['restore', 'teacher', 'teacher-20261122T021000Z.dump']);
    const plan = clusterPlan(args, now);
    expect(renderCommand(plan.commands[1]!)).toBe(
      "kubectl --context kind-courseops -n courseops create -f -   (stdin: Job courseops/teacher-backup-restore-20261123t100000z from cronjob/teacher-backup's job template, args: restore teacher teacher-20261122T021000Z.dump --dir /backups)",
    );
    const source = cronJob('teacher') as unknown as Parameters<typeof jobFromCronJob>[0];
    const job = jobFromCronJob(source, plan.job, jobArgs(args), 'restore') as { kind: string; metadata: { name: string; namespace: string; labels: Record<string, string> }; spec: Record<string, unknown> };
    expect(job.kind).toBe('Job');
    expect(job.metadata).toMatchObject({ name: 'teacher-backup-restore-20261123t100000z', namespace: 'courseops' });
    // the backup pods' labels: the database's NetworkPolicy admits them
    expect(job.metadata.labels).toMatchObject({ 'app.kubernetes.io/name': 'backup', 'app.kubernetes.io/instance': 'teacher-backup' });
    expect(job.spec.backoffLimit).toBe(0);
    const template = source.spec.jobTemplate.spec.template as unknown as { spec: { containers: Record<string, unknown>[] } };
    const container = (job.spec.template as typeof template).spec.containers[0]!;
    expect(container.args).toEqual(['restore', 'teacher', 'teacher-20261122T021000Z.dump', '--dir', '/backups']);
    // everything else is the CronJob's: image, env (password from the Secret), mounts, hardening
    const { args: _a, ...rest } = container;
    const { args: _b, ...original } = template.spec.containers[0]!;
    expect(rest).toEqual(original);
    // and the CronJob itself is unchanged
    expect(template.spec.containers[0]!.args).toEqual(expect.arrayContaining(['backup', 'teacher']));
  });

  it('runs the plan with kubectl: the Job manifest goes to stdin; the Job\'s outcome decides the exit', async () => {
    const calls: { argv: string[]; input?: string }[] = [];
    const source = JSON.stringify(cronJob('status'));
    const condition = (type: string, reason?: string) => JSON.stringify({ status: { conditions: [{ type, status: 'True', reason, message: reason && 'Job has reached the specified backoff limit' }] } });
    /** kubectl as the Job would answer it: still running for `running` polls, then `final`. */
    const kubectl = (final: string, running = 0): Runner => async (argv, options) => {
      calls.push({ argv, ...(options?.input !== undefined ? { input: options.input } : {}) });
      if (argv.includes('cronjob')) return { code: 0, stdout: source, stderr: '' };
      if (argv.includes('logs')) options?.onLine?.('restored status-20261122T022000Z.dump into status');
      if (argv.includes('job')) return { code: 0, stdout: running-- > 0 ? JSON.stringify({ status: { active: 1 } }) : final, stderr: '' };
      return { code: 0, stdout: '', stderr: '' };
    };
    const lines: string[] = [];
    await runCluster(parseArgs(['restore', 'status', 'status-20261122T022000Z.dump']), (l) => lines.push(l), kubectl(condition('Complete'), 2), { pollMs: 1 });
    expect(calls.map((c) => c.argv.slice(5, 7).join(' '))).toEqual(['get cronjob', 'create -f', 'logs -f', 'get job', 'get job', 'get job']);
    const created = JSON.parse(calls[1]!.input!) as { kind: string; spec: { template: { spec: { containers: { args: string[] }[] } } } };
    expect(created.kind).toBe('Job');
    expect(created.spec.template.spec.containers[0]!.args).toEqual(['restore', 'status', 'status-20261122T022000Z.dump', '--dir', '/backups']);
    expect(lines).toContain('restored status-20261122T022000Z.dump into status');
    expect(lines.at(-1)).toMatch(/^Job status-backup-restore-\d{8}t\d{6}z completed$/);

    await expect(runCluster(parseArgs(['backup', 'status']), () => undefined, kubectl(condition('Failed', 'BackoffLimitExceeded')), { pollMs: 1 })).rejects.toThrow(
      /did not complete: Failed: BackoffLimitExceeded Job has reached the specified backoff limit/,
    );
    await expect(runCluster(parseArgs(['backup', 'status']), () => undefined, kubectl('', 1e9), { pollMs: 1, timeoutMs: 20 })).rejects.toThrow(/still running after/);
  });

  it('refuses an unknown service or a malformed backup name before calling kubectl', () => {
    expect(() => clusterPlan(parseArgs(['backup', 'billing']))).toThrow(/unknown service "billing": services with a database are course, teacher, status/);
    expect(() => clusterPlan(parseArgs(['restore', 'course', 'latest']))).toThrow(/"latest" is not a backup name/);
  });
});
