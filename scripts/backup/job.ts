/**
 * Entry point of the backup image (scripts/backup/Dockerfile): local mode only (the pod is the place
 * where the database and the backup volume are), so the bundle carries no kubectl or cdk8s code.
 * Log lines carry a UTC time: they end up in the cluster's log store.
 */
import { parseArgs } from './args.js';
import { runLocal } from './local.js';
import { BackupError } from './pg.js';

const log = (line: string) => console.log(`${new Date().toISOString()} ${line}`);

try {
  const args = parseArgs(process.argv.slice(2));
  if (!args.local) throw new BackupError('the backup image runs in local mode only: pass --dir (and DATABASE_URL)');
  await runLocal(args, log);
} catch (err) {
  console.error(`${new Date().toISOString()} ${err instanceof BackupError ? err.message : String((err as Error).stack ?? err)}`);
  process.exitCode = 1;
}
