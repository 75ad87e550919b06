/**
 * Command line of `npm run backup` / `npm run restore` (scripts/backup/cli.ts) and of the backup image
 * (job.ts). Two modes, one logic:
 * - local: `--database-url <url>` (or DATABASE_URL) and `--dir <folder>`: runs against any PostgreSQL;
 * - cluster (neither given): runs the same image as a Job in the kind cluster through kubectl.
 */
import { BackupError } from './pg.js';

export const USAGE = `usage (npm run backup -- ..., npm run restore -- ...):
  backup  <service> [--dry-run]                                   Job from the CronJob <service>-backup in the cluster
  restore <service> <backup> [--dry-run] [--drop-old]             restore Job in the cluster
  backup list <service> [--dry-run]                               backups on the service's backup volume
  backup rotate <service> [--dry-run]                             apply the retention (7 daily, 4 weekly)
local mode, against any PostgreSQL (the same logic the Jobs run):
  backup  <service> --database-url <url> --dir <folder> [--push-url <pushgateway>] [--no-rotate]
  restore <service> <backup> --database-url <url> --dir <folder> [--drop-old] [--no-owner]
  backup list <service> --dir <folder>
  backup rotate <service> --dir <folder> [--dry-run]
options: --maintenance-db <name> (default postgres; CREATE/DROP/RENAME DATABASE run there),
         --namespace <ns> (push grouping and cluster namespace, default courseops)`;

export type Command = 'backup' | 'restore' | 'list' | 'rotate';
export const COMMANDS: readonly Command[] = ['backup', 'restore', 'list', 'rotate'];

export interface Args {
  readonly command: Command;
  readonly service: string;
  readonly backup?: string;
  readonly databaseUrl?: string;
  readonly dir?: string;
  readonly pushUrl?: string;
  readonly namespace: string;
  readonly maintenanceDb?: string;
  readonly dryRun: boolean;
  readonly dropOld: boolean;
  readonly noOwner: boolean;
  readonly noRotate: boolean;
  readonly local: boolean;
}

const VALUE_FLAGS = ['--database-url', '--dir', '--push-url', '--namespace', '--maintenance-db'] as const;
const BOOL_FLAGS = ['--dry-run', '--drop-old', '--no-owner', '--no-rotate'] as const;

export function parseArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Args {
  const positional: string[] = [];
  const values: Record<string, string> = {};
  const flags = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    if ((VALUE_FLAGS as readonly string[]).includes(flag)) {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') throw new BackupError(`${flag} needs a value\n${USAGE}`);
      values[flag] = v;
    } else if ((BOOL_FLAGS as readonly string[]).includes(flag)) flags.add(flag);
    else if (a === '-h' || a === '--help') throw new BackupError(USAGE);
    else if (a.startsWith('-')) throw new BackupError(`unknown option ${a}\n${USAGE}`);
    else positional.push(a);
  }
  // `npm run backup -- list <service>` (the script passes `backup` first): list and rotate ride on it.
  if (positional[0] === 'backup' && (positional[1] === 'list' || positional[1] === 'rotate')) positional.shift();
  const [command, service, backup, ...extra] = positional;
  if (!command || !(COMMANDS as readonly string[]).includes(command)) throw new BackupError(`unknown command ${JSON.stringify(command ?? '')}\n${USAGE}`);
  if (!service) throw new BackupError(`${command}: which service?\n${USAGE}`);
  if (command === 'restore' && !backup) throw new BackupError(`restore: which backup? (npm run backup -- list ${service} shows them)\n${USAGE}`);
  if ((command !== 'restore' && backup) || extra.length > 0) throw new BackupError(`unexpected argument ${JSON.stringify(command === 'restore' ? extra[0] : backup)}\n${USAGE}`);

  const dir = values['--dir'];
  const local = dir !== undefined || values['--database-url'] !== undefined;
  const databaseUrl = values['--database-url'] ?? (local ? env.DATABASE_URL : undefined);
  if (local && !dir) throw new BackupError(`--database-url needs --dir <folder> (where the backups are)`);
  if (local && (command === 'backup' || command === 'restore') && !databaseUrl) throw new BackupError(`${command}: --database-url <url> (or DATABASE_URL) is required with --dir`);
  const pushUrl = values['--push-url'] ?? (local ? env.BACKUP_PUSHGATEWAY_URL || undefined : undefined);
  return {
    command: command as Command,
    service,
    ...(backup ? { backup } : {}),
    ...(databaseUrl ? { databaseUrl } : {}),
    ...(dir ? { dir } : {}),
    ...(pushUrl ? { pushUrl } : {}),
    namespace: values['--namespace'] ?? env.BACKUP_NAMESPACE ?? 'courseops',
    ...(values['--maintenance-db'] ? { maintenanceDb: values['--maintenance-db'] } : {}),
    dryRun: flags.has('--dry-run'),
    dropOld: flags.has('--drop-old'),
    noOwner: flags.has('--no-owner'),
    noRotate: flags.has('--no-rotate'),
    local,
  };
}
