/**
 * Local mode: the commands against a PostgreSQL URL and a backup folder. This is what the CronJob and
 * the restore Job run in the cluster (job.ts), and what `npm run backup -- <service> --database-url ...
 * --dir ...` runs on a laptop.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Args } from './args.js';
import { runBackup, type Manifest } from './backup.js';
import { pushMetrics } from './metrics.js';
import { checkServiceName, CHECKSUM_EXT, MANIFEST_EXT, parseBackupName } from './naming.js';
import { BackupError, parseDatabaseUrl, redact } from './pg.js';
import { runRestore } from './restore.js';
import { planRotation, rotate } from './rotate.js';

export type Log = (line: string) => void;

export async function runLocal(args: Args, log: Log): Promise<void> {
  checkServiceName(args.service);
  const dir = args.dir!;
  switch (args.command) {
    case 'backup':
      return backup(args, dir, log);
    case 'restore': {
      log(`restore of ${args.backup} into ${redact(args.databaseUrl!)}`);
      const r = await runRestore({
        service: args.service,
        backup: args.backup!,
        databaseUrl: args.databaseUrl!,
        dir,
        keepOld: !args.dropOld,
        noOwner: args.noOwner,
        ...(args.maintenanceDb ? { maintenanceDatabase: args.maintenanceDb } : {}),
        log,
      });
      log(
        `restored ${r.backup} into ${r.database} (${r.tables} tables)` +
          (r.oldDatabase ? `; the previous database is kept as ${r.oldDatabase} (drop it with: drop database "${r.oldDatabase}")` : ''),
      );
      return;
    }
    case 'list':
      for (const line of listBackups(dir, args.service)) log(line);
      return;
    case 'rotate': {
      if (!existsSync(dir)) throw new BackupError(`no backup folder ${dir}`);
      const plan = args.dryRun ? planRotation(readdirSync(dir), args.service) : rotate(dir, args.service);
      log(`keep: ${plan.keep.join(', ') || '(none)'}`);
      log(`${args.dryRun ? 'would remove' : 'removed'}: ${plan.remove.join(', ') || '(none)'}`);
      return;
    }
  }
}

async function backup(args: Args, dir: string, log: Log): Promise<void> {
  const database = parseDatabaseUrl(args.databaseUrl!).database;
  const grouping = { namespace: args.namespace, service: args.service, database };
  const t0 = performance.now();
  const push = async (outcome: Parameters<typeof pushMetrics>[2]) => {
    if (!args.pushUrl) return;
    try {
      await pushMetrics(args.pushUrl, grouping, outcome);
      log(`metrics pushed to ${args.pushUrl}`);
    } catch (err) {
      // The backup itself is what matters; a missing push shows up as BackupTooOld.
      log(`warning: could not push metrics to ${args.pushUrl}: ${(err as Error).message}`);
    }
  };
  try {
    const r = await runBackup({
      service: args.service,
      databaseUrl: args.databaseUrl!,
      dir,
      retention: args.noRotate ? false : undefined,
      ...(args.maintenanceDb ? { maintenanceDatabase: args.maintenanceDb } : {}),
      log,
    });
    log(`backup ${r.name}: ${r.manifest.sizeBytes} bytes, ${Object.keys(r.manifest.tables).length} tables, ${r.durationSeconds.toFixed(1)} s`);
    await push({ ok: true, endedAt: new Date(), durationSeconds: r.durationSeconds, sizeBytes: r.manifest.sizeBytes });
  } catch (err) {
    await push({ ok: false, endedAt: new Date(), durationSeconds: (performance.now() - t0) / 1000 });
    throw err;
  }
}

/** One line per backup of the service, newest first: name, size, verified row total, checksum file present. */
export function listBackups(dir: string, service: string): string[] {
  if (!existsSync(dir)) throw new BackupError(`no backup folder ${dir}`);
  const names = readdirSync(dir)
    .filter((f) => parseBackupName(f)?.service === service)
    .sort()
    .reverse();
  if (names.length === 0) return [`no backup of ${service} in ${dir}`];
  return names.map((n) => {
    const size = statSync(join(dir, n)).size;
    const manifestPath = join(dir, `${n}${MANIFEST_EXT}`);
    const manifest = existsSync(manifestPath) ? (JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest) : undefined;
    const rows = manifest ? Object.values(manifest.tables).reduce((a, b) => a + b, 0) : undefined;
    const sum = existsSync(join(dir, `${n}${CHECKSUM_EXT}`)) ? 'sha256' : 'NO CHECKSUM';
    return `${n}  ${size} bytes  ${rows === undefined ? '? rows' : `${rows} rows`}  ${sum}`;
  });
}
