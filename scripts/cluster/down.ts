/**
 * npm run down [-- --dry-run]: deletes the kind cluster (and with it every volume, secret and image
 * loaded into it). Deleting a cluster that does not exist is not an error for kind.
 *
 * npm run down -- --context NAME [--purge] [--dist DIR] [--dry-run]: removes from an existing cluster what
 * `up --context NAME` installed from dist/ (which must be synthesized as it was for up) and nothing else, and names
 * what it keeps: the PersistentVolumeClaims and their namespaces unless --purge, the Gateway API CRDs, the user's
 * database Secrets (teardown.ts).
 */
import { CLUSTER_NAME, renderCommand, runChecked, spawnRunner, type Cmd } from './commands.js';
import { REPO_ROOT, Refusal, checkSwitches, fail, parseFlags, userPath } from './cli.js';
import { distComplete, loadDist } from './inputs.js';
import { renderPlan } from './plan.js';
import { TOOLS, assertTools, lookupOnPath } from './prerequisites.js';
import { runPlan } from './run.js';
import { targetRefusal } from './target.js';
import { buildTeardownPlan } from './teardown.js';

export const DOWN_COMMAND: Cmd = { argv: ['kind', 'delete', 'cluster', '--name', CLUSTER_NAME] };

const HELP = `Usage: npm run down [-- --dry-run]
       npm run down -- --context NAME [--purge] [--dist DIR] [--dry-run]

  Without --context: deletes the kind cluster "${CLUSTER_NAME}", volumes included.
  --context NAME  remove from this existing kube context what \`npm run up -- --context NAME\` installed from
                  dist/ (manifests' objects, Helm releases, generated Secrets, the platform's namespaces), and
                  nothing else; keeps and names the PersistentVolumeClaims and the namespaces that hold them,
                  the Gateway API CRDs and the database Secrets you created
  --purge         with --context: delete the PersistentVolumeClaims (the data) and their namespaces too
  --dist DIR      the synthesized output up deployed (default: dist)
  --dry-run       print every command, run nothing
`;

async function downKind(dryRun: boolean): Promise<void> {
  if (dryRun) {
    process.stdout.write(`# dry run: nothing is run\n${renderCommand(DOWN_COMMAND)}\n`);
    return;
  }
  assertTools(lookupOnPath(), TOOLS.filter((t) => t.name === 'kind' || t.name === 'docker'));
  process.stdout.write(`$ ${renderCommand(DOWN_COMMAND)}\n`);
  await runChecked(spawnRunner, DOWN_COMMAND, { cwd: REPO_ROOT, onLine: (l) => process.stdout.write(`${l}\n`) });
  process.stdout.write('\nThe cluster is deleted. You may remove the courseops line from /etc/hosts.\n');
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2), ['context', 'dist']);
  checkSwitches(flags, ['dry-run', 'help', 'h', 'purge']);
  if (flags.help) {
    process.stdout.write(HELP);
    return;
  }
  const context = flags.values.get('context');
  const purge = flags.switches.has('purge');
  if (context === undefined) {
    if (purge) throw new Refusal('--purge goes with --context NAME: without it, down deletes the whole kind cluster, volumes included.');
    if (flags.values.has('dist')) throw new Refusal('--dist goes with --context NAME: without it, down deletes the whole kind cluster and reads no dist/.');
    await downKind(flags.dryRun);
    return;
  }
  if (context.trim() === '') throw new Refusal('--context needs the name of a kube context (`kubectl config get-contexts`)');
  const distDir = flags.values.has('dist') ? userPath(flags.values.get('dist')!) : 'dist';
  process.chdir(REPO_ROOT);
  if (!distComplete(distDir)) {
    throw new Error(`${distDir} is missing or incomplete: down removes what dist/ lists, so synthesize it as it was for up (the same config file), then run down again`);
  }
  const dist = loadDist(distDir);
  const refusal = targetRefusal(dist.declared, { context }, 'down', distDir);
  if (refusal) throw new Refusal(refusal);
  const steps = buildTeardownPlan({ dist, context, purge });

  if (flags.dryRun) {
    const head = `# courseops removal plan for context "${context}"${purge ? ' with --purge' : ''} (dry run: nothing is run)`;
    process.stdout.write(`${[head, '', ...renderPlan(steps)].join('\n')}\n`);
    return;
  }
  const notes: string[] = [];
  const summary = await runPlan(steps, { cwd: REPO_ROOT, notes });
  process.stdout.write(`\nThe courseops platform is removed from context ${context}.\n\nWhat down keeps:\n${[...summary, ...notes.map((n) => `  - ${n}`)].join('\n')}\n`);
}

main().catch(fail);
