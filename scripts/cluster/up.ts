/**
 * npm run up [-- --dry-run] [--dist DIR] [--synth] [--base-image IMAGE]
 * npm run up -- --context NAME [--registry REGISTRY] [--dry-run] [--dist DIR] [--synth] [--base-image IMAGE]
 *
 * One-command bring-up. Without --context, of the local platform: prerequisites, `npm run synth` when dist/ is
 * missing, the kind cluster, the CoreDNS rewrite, the service images loaded into kind, the generated secrets, the
 * Helm releases in order, dist/manifests applied server-side, waits, then the /etc/hosts line, URLs and where the
 * credentials are.
 * With --context NAME, on an existing cluster (dist/ synthesized with the `cluster` profile): no kind; the cluster
 * checks (server version, StorageClass, ClusterIssuer, external database Secrets) before anything is changed; the
 * images built and pushed; then the same secrets, releases, manifests and waits, every kubectl and helm command
 * naming the context; then the URLs and the DNS records to create. Refusals (exit 2): a kind-profile dist/ with
 * --context, a cluster-profile dist/ without it, --registry without --context or not matching the images' names.
 * `--dry-run` (or `npm run up --dry-run`) prints every command without running any.
 */
import { CLUSTER_NAME } from './commands.js';
import { REPO_ROOT, checkSwitches, fail, parseFlags, userPath } from './cli.js';
import { distComplete, loadDist } from './inputs.js';
import { buildPlan, renderPlan, type Step } from './plan.js';
import { TOOLS, checkTools, lookupOnPath } from './prerequisites.js';
import { runPlan } from './run.js';
import { targetFromFlags } from './target.js';

const HELP = `Usage: npm run up [-- [--dry-run] [--dist DIR] [--synth] [--base-image IMAGE]]
       npm run up -- --context NAME [--registry REGISTRY] [--dry-run] [--dist DIR] [--synth] [--base-image IMAGE]

  --dry-run            print every command of the bring-up, run nothing (also: npm run up --dry-run)
  --dist DIR           the synthesized output to deploy (default: dist)
  --synth              run \`npm run synth\` first even when dist/ exists
  --base-image IMAGE   BASE_IMAGE build argument for the service images (or COURSEOPS_BASE_IMAGE)
  --context NAME       deploy to this existing kube context (dist/ synthesized with profile: cluster) instead of
                       creating the kind cluster: checks it first, pushes the images, never uses the current context
  --registry REGISTRY  with --context: the registry/prefix the images were synthesized with (images.prefix in the
                       config file); refused when an image name does not start with it. Without it the images are
                       pushed to wherever their names point.

Without --context: the kind cluster "${CLUSTER_NAME}" (dist/ synthesized with the default profile, kind).
`;

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2), ['dist', 'base-image', 'context', 'registry']);
  checkSwitches(flags, ['dry-run', 'help', 'h', 'synth']);
  if (flags.help) {
    process.stdout.write(HELP);
    return;
  }
  const target = targetFromFlags(flags.values);
  const distArg = flags.values.get('dist');
  const distDir = distArg ? userPath(distArg) : 'dist';
  process.chdir(REPO_ROOT);
  const baseImage = flags.values.get('base-image') ?? (process.env.COURSEOPS_BASE_IMAGE || undefined);
  const complete = distComplete(distDir);
  const synth = flags.switches.has('synth') || !complete;
  if (synth && distArg) throw new Error(`${distDir} is incomplete, and \`npm run synth\` writes dist/, not ${distDir}`);

  if (flags.dryRun) {
    const steps = buildPlan({ dist: complete ? loadDist(distDir) : undefined, synth, baseImage, target });
    const where = target ? `context "${target.context}"` : `cluster "${CLUSTER_NAME}"`;
    const out = [`# courseops bring-up plan for ${where} (dry run: nothing is run; secret values are never shown)`, '', ...renderPlan(steps)];
    const prerequisites = steps.find((s) => s.type === 'prerequisites');
    const { missing } = checkTools(lookupOnPath(), TOOLS.filter((t) => prerequisites?.type === 'prerequisites' && prerequisites.tools.includes(t.name)));
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
    const first = buildPlan({ synth: true, baseImage, target }).filter((s) => s.id === 'prerequisites' || s.id === 'synth');
    await runPlan(first, ctx);
    steps = buildPlan({ dist: loadDist(distDir), synth: false, baseImage, target }).filter((s) => s.id !== 'prerequisites');
  } else {
    steps = buildPlan({ dist: loadDist(distDir), synth: false, baseImage, target });
  }
  const summary = await runPlan(steps, ctx);
  for (const w of warnings) process.stdout.write(`warning: ${w}\n`);
  process.stdout.write(`\nThe courseops platform is up${target ? ` in context ${target.context}` : ''}.\n\n${summary.join('\n')}\n`);
}

main().catch(fail);
