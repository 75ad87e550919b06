/**
 * npm run up [-- --dry-run] [--dist DIR] [--synth] [--base-image IMAGE]
 *
 * One-command bring-up of the local platform: prerequisites, `npm run synth` when dist/ is missing, the
 * kind cluster, the CoreDNS rewrite, the service images, the generated secrets, the Helm releases in
 * order, dist/manifests applied server-side, waits, then the /etc/hosts line, URLs and where the
 * credentials are. `--dry-run` (or `npm run up --dry-run`) prints every command without running any.
 */
import { CLUSTER_NAME } from './commands.js';
import { REPO_ROOT, checkSwitches, fail, parseFlags, userPath } from './cli.js';
import { distComplete, loadDist } from './inputs.js';
import { buildPlan, renderPlan, type Step } from './plan.js';
import { checkTools, lookupOnPath } from './prerequisites.js';
import { runPlan } from './run.js';

const HELP = `Usage: npm run up [-- [--dry-run] [--dist DIR] [--synth] [--base-image IMAGE]]

  --dry-run           print every command of the bring-up, run nothing (also: npm run up --dry-run)
  --dist DIR          the synthesized output to deploy (default: dist)
  --synth             run \`npm run synth\` first even when dist/ exists
  --base-image IMAGE  BASE_IMAGE build argument for the service images (or COURSEOPS_BASE_IMAGE)
`;

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2), ['dist', 'base-image']);
  checkSwitches(flags, ['dry-run', 'help', 'h', 'synth']);
  if (flags.help) {
    process.stdout.write(HELP);
    return;
  }
  const distArg = flags.values.get('dist');
  const distDir = distArg ? userPath(distArg) : 'dist';
  process.chdir(REPO_ROOT);
  const baseImage = flags.values.get('base-image') ?? (process.env.COURSEOPS_BASE_IMAGE || undefined);
  const complete = distComplete(distDir);
  const synth = flags.switches.has('synth') || !complete;
  if (synth && distArg) throw new Error(`${distDir} is incomplete, and \`npm run synth\` writes dist/, not ${distDir}`);

  if (flags.dryRun) {
    const steps = buildPlan({ dist: complete ? loadDist(distDir) : undefined, synth, baseImage });
    const out = [`# courseops bring-up plan for cluster "${CLUSTER_NAME}" (dry run: nothing is run; secret values are never shown)`, '', ...renderPlan(steps)];
    const { missing } = checkTools(lookupOnPath());
    if (missing.length > 0) {
      out.push(`# note: not found on this machine: ${missing.map((t) => t.name).join(', ')} (a real run would stop at step 1 with install hints)`);
    }
    process.stdout.write(`${out.join('\n')}\n`);
    return;
  }

  const warnings: string[] = [];
  const ctx = { cwd: REPO_ROOT, fileRoots: [REPO_ROOT, distDir], warnings };
  let steps: Step[];
  if (synth) {
    // Phase 1: prerequisites and the synth; the rest of the plan is computed from its output.
    const first = buildPlan({ synth: true, baseImage }).filter((s) => s.id === 'prerequisites' || s.id === 'synth');
    await runPlan(first, ctx);
    steps = buildPlan({ dist: loadDist(distDir), synth: false, baseImage }).filter((s) => s.id !== 'prerequisites');
  } else {
    steps = buildPlan({ dist: loadDist(distDir), synth: false, baseImage });
  }
  const summary = await runPlan(steps, ctx);
  for (const w of warnings) process.stdout.write(`warning: ${w}\n`);
  process.stdout.write(`\nThe courseops platform is up.\n\n${summary.join('\n')}\n`);
}

main().catch(fail);
