/**
 * `npm run backup -- <service>` / `npm run restore -- <service> <backup>` (and `list`, `rotate`):
 * in the cluster through kubectl, or with `--database-url`/`--dir` against any PostgreSQL. See args.ts.
 */
import { parseArgs } from './args.js';
import { runLocal } from './local.js';
import { BackupError } from './pg.js';

const log = (line: string) => console.log(line);

async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs(argv);
  } catch (err) {
    console.error((err as Error).message);
    return 2;
  }
  try {
    if (args.local) await runLocal(args, log);
    else await (await import('./cluster.js')).runCluster(args, log);
    return 0;
  } catch (err) {
    console.error(err instanceof BackupError ? `${args.command} failed: ${err.message}` : err);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
