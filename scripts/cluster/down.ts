/**
 * npm run down [-- --dry-run]: deletes the kind cluster (and with it every volume, secret and image
 * loaded into it). Deleting a cluster that does not exist is not an error for kind.
 */
import { CLUSTER_NAME, renderCommand, runChecked, spawnRunner, type Cmd } from './commands.js';
import { REPO_ROOT, checkSwitches, fail, parseFlags } from './cli.js';
import { TOOLS, assertTools, lookupOnPath } from './prerequisites.js';

export const DOWN_COMMAND: Cmd = { argv: ['kind', 'delete', 'cluster', '--name', CLUSTER_NAME] };

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2));
  checkSwitches(flags, ['dry-run', 'help', 'h']);
  if (flags.help) {
    process.stdout.write('Usage: npm run down [-- --dry-run]\n\n  Deletes the kind cluster "courseops".\n');
    return;
  }
  if (flags.dryRun) {
    process.stdout.write(`# dry run: nothing is run\n${renderCommand(DOWN_COMMAND)}\n`);
    return;
  }
  assertTools(lookupOnPath(), TOOLS.filter((t) => t.name === 'kind' || t.name === 'docker'));
  process.stdout.write(`$ ${renderCommand(DOWN_COMMAND)}\n`);
  await runChecked(spawnRunner, DOWN_COMMAND, { cwd: REPO_ROOT, onLine: (l) => process.stdout.write(`${l}\n`) });
  process.stdout.write('\nThe cluster is deleted. You may remove the courseops line from /etc/hosts.\n');
}

main().catch(fail);
