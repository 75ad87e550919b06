/**
 * Cluster mode: the same logic, run by the backup image as a Job next to the database, through kubectl.
 * - backup: `kubectl create job --from=cronjob/<service>-backup` (exactly what the nightly run does);
 * - restore, list, rotate: a Job made from the deployed CronJob's own job template (same image, env,
 *   volumes, hardening), with the command's arguments instead of `backup`; created with `kubectl create -f -`.
 * Then the Job's log is followed and its outcome (Complete or Failed) awaited. `--dry-run` prints the commands.
 */
import { services } from '../../cdk8s/src/services.js';
import { backupNames } from '../../cdk8s/src/data/backup.js';
import { KUBE_CONTEXT, renderCommand, runChecked, spawnRunner, type Cmd, type Runner } from '../cluster/commands.js';
import type { Args } from './args.js';
import { timestamp } from './naming.js';
import { BackupError } from './pg.js';

export const JOB_TIMEOUT = '30m';

/** Services that have a database, hence a backup CronJob. */
export const backedUpServices = () => services.filter((s) => s.database).map((s) => s.name);

export interface ClusterPlan {
  readonly job: string;
  readonly cronJob: string;
  readonly commands: readonly Cmd[];
}

const k = (namespace: string, ...args: string[]) => ['kubectl', '--context', KUBE_CONTEXT, '-n', namespace, ...args];

/** The container arguments of the Job for a command (the CronJob's own are `backup <service> ...`). */
export function jobArgs(args: Args): string[] {
  const names = backupNames(args.service);
  const base = ['--dir', names.mountPath];
  switch (args.command) {
    case 'restore':
      return ['restore', args.service, args.backup!, ...base, ...(args.dropOld ? ['--drop-old'] : [])];
    case 'list':
      return ['list', args.service, ...base];
    case 'rotate':
      return ['rotate', args.service, ...base];
    case 'backup':
      return [];
  }
}

/** Pure: the kubectl commands for a command, in order. */
export function clusterPlan(args: Args, now: Date = new Date()): ClusterPlan {
  const known = backedUpServices();
  if (!known.includes(args.service)) {
    throw new BackupError(`unknown service ${JSON.stringify(args.service)}: services with a database are ${known.join(', ')}`);
  }
  if (args.command === 'restore' && !/^[a-z0-9-]+-\d{8}T\d{6}Z\.dump$/.test(args.backup!)) {
    throw new BackupError(`${JSON.stringify(args.backup)} is not a backup name (npm run backup -- list ${args.service} shows them)`);
  }
  const names = backupNames(args.service);
  const ns = args.namespace;
  // Job names are DNS labels of at most 63 characters; the timestamp keeps them unique.
  const job = `${names.cronJob}-${args.command === 'backup' ? 'manual' : args.command}-${timestamp(now).toLowerCase()}`.slice(0, 63);
  const create: Cmd =
    args.command === 'backup'
      ? { argv: k(ns, 'create', 'job', job, `--from=cronjob/${names.cronJob}`) }
      : {
          argv: k(ns, 'create', '-f', '-'),
          stdin: { kind: 'manifest', describe: `Job ${ns}/${job} from cronjob/${names.cronJob}'s job template, args: ${jobArgs(args).join(' ')}` },
        };
  return {
    job,
    cronJob: names.cronJob,
    commands: [
      { argv: k(ns, 'get', 'cronjob', names.cronJob, '-o', 'json') },
      create,
      { argv: k(ns, 'logs', '-f', `job/${job}`, '--pod-running-timeout=5m'), timeoutMs: 35 * 60_000 },
      // Polled: `kubectl wait` waits for one condition only, and a Job ends Complete or Failed (a retried pod outlives the followed log).
      { argv: k(ns, 'get', 'job', job, '-o', 'json'), note: 'polled until the Job is Complete or Failed' },
    ],
  };
}

type CronJobJson = {
  metadata: { namespace?: string; labels?: Record<string, string> };
  spec: { jobTemplate: { metadata?: { labels?: Record<string, string> }; spec: { template: { spec: { containers: { args?: string[] }[] } } } & Record<string, unknown> } };
};

/** A Job from the CronJob's job template with other container arguments; no retry (a restore runs once). */
export function jobFromCronJob(cronJob: CronJobJson, name: string, args: string[], command: string): Record<string, unknown> {
  const spec = structuredClone(cronJob.spec.jobTemplate.spec);
  const [container, ...rest] = spec.template.spec.containers;
  if (!container) throw new BackupError('the CronJob has no container');
  spec.template.spec.containers = [{ ...container, args }, ...rest];
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name,
      namespace: cronJob.metadata.namespace,
      labels: { ...(cronJob.spec.jobTemplate.metadata?.labels ?? cronJob.metadata.labels ?? {}), 'courseops.dev/backup-command': command },
    },
    spec: { ...spec, backoffLimit: 0, ttlSecondsAfterFinished: 7 * 24 * 3600 },
  };
}

export interface ClusterRunOptions {
  /** How long to wait for the Job after its log ended (default 40 min). */
  readonly timeoutMs?: number;
  readonly pollMs?: number;
}

export async function runCluster(args: Args, log: (line: string) => void, runner: Runner = spawnRunner, options: ClusterRunOptions = {}): Promise<void> {
  const plan = clusterPlan(args);
  if (args.dryRun) {
    for (const cmd of plan.commands) log(renderCommand(cmd));
    return;
  }
  const [get, create, logs, status] = plan.commands as [Cmd, Cmd, Cmd, Cmd];
  log(`$ ${renderCommand(get)}`);
  const cronJob = JSON.parse((await runChecked(runner, get)).stdout) as CronJobJson;
  log(`$ ${renderCommand(create)}`);
  const input = create.stdin ? JSON.stringify(jobFromCronJob(cronJob, plan.job, jobArgs(args), args.command)) : undefined;
  await runChecked(runner, create, input === undefined ? {} : { input });
  log(`$ ${renderCommand(logs)}`);
  await runner(logs.argv, { onLine: log, ...(logs.timeoutMs ? { timeoutMs: logs.timeoutMs } : {}) });
  log(`$ ${renderCommand({ ...status, note: undefined })}`);
  const outcome = await jobOutcome(runner, status, options);
  if (outcome !== 'Complete') throw new BackupError(`Job ${plan.job} did not complete: ${outcome} (kubectl -n ${args.namespace} describe job ${plan.job})`);
  log(`Job ${plan.job} completed`);
}

type JobStatus = { status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] } };

/** 'Complete', or why not: the Failed condition's reason and message, or a timeout. */
async function jobOutcome(runner: Runner, status: Cmd, options: ClusterRunOptions): Promise<string> {
  const deadline = Date.now() + (options.timeoutMs ?? 40 * 60_000);
  for (;;) {
    const r = await runner(status.argv);
    if (r.code === 0) {
      const conditions = (JSON.parse(r.stdout) as JobStatus).status?.conditions ?? [];
      if (conditions.some((c) => c.type === 'Complete' && c.status === 'True')) return 'Complete';
      const failed = conditions.find((c) => c.type === 'Failed' && c.status === 'True');
      if (failed) return `Failed: ${failed.reason ?? ''} ${failed.message ?? ''}`.trim();
    }
    if (Date.now() > deadline) return `still running after ${Math.round((options.timeoutMs ?? 40 * 60_000) / 60_000)} min${r.code !== 0 ? ` (${r.stderr.trim()})` : ''}`;
    await new Promise((res) => setTimeout(res, options.pollMs ?? 5000));
  }
}
