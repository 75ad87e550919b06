/** Runs a plan (plan.ts, teardown.ts) with listr2 progress output; stops at the first failure with its stderr. */
import { Listr, PRESET_TIMER, type ListrTask } from 'listr2';
import { runChecks } from './cluster-checks.js';
import { renderCommand, runChecked, spawnRunner, type Cmd, type Runner } from './commands.js';
import { addRewrite, corednsConfigMap } from './coredns.js';
import { DOCKER_DAEMON_HINT, PrerequisiteError, TOOLS, assertTools, helmVersionProblem, kindVersionWarning, lookupOnPath, type PathLookup } from './prerequisites.js';
import type { Step } from './plan.js';
import { applyKeepingWeights } from './route-weights.js';
import { ensureSecrets } from './secrets.js';
import { claimsCommand, decideNamespace, describeClaim, namespaceDeleteCommand, parseClaims, purgeClaimsCommand } from './teardown.js';

export interface RunContext {
  runner?: Runner;
  lookup?: PathLookup;
  cwd?: string;
  /** Roots for relative fromFile paths of secrets. */
  fileRoots?: string[];
  warnings?: string[];
  /** What steps found while running that the closing text must say (down: what it kept). */
  notes?: string[];
  /** No progress output (tests). */
  silent?: boolean;
  /** Pause between retries of a command (default 10 s). */
  retryDelayMs?: number;
}

type Output = (line: string) => void;

/** A command as shown while it runs (the dry run's notes about conditions are left out). */
function shown(cmd: Cmd): string {
  return renderCommand({ ...cmd, note: undefined });
}

async function runCommands(runner: Runner, cmds: readonly Cmd[], cwd: string | undefined, output: Output, retryDelayMs?: number): Promise<void> {
  for (const cmd of cmds) {
    output(`$ ${shown(cmd)}`);
    // A manifest apply keeps the weights a running canary set on its HTTPRoute (route-weights.ts).
    await applyKeepingWeights(runner, cmd, { cwd, onLine: output, retryDelayMs });
  }
}

async function runPrerequisites(step: Extract<Step, { type: 'prerequisites' }>, ctx: Required<Pick<RunContext, 'runner' | 'lookup'>> & RunContext, output: Output) {
  assertTools(ctx.lookup, TOOLS.filter((t) => step.tools.includes(t.name)));
  for (const cmd of step.commands) {
    output(`$ ${shown(cmd)}`);
    const result = await ctx.runner(cmd.argv, { cwd: ctx.cwd });
    if (result.code !== 0) {
      if (cmd.argv[0] === 'docker') throw new PrerequisiteError(`${DOCKER_DAEMON_HINT}\n${result.stderr.trim()}`);
      throw new PrerequisiteError(`${renderCommand(cmd)} failed:\n${result.stderr.trim()}`);
    }
    if (cmd.argv[0] === 'kind') {
      const warning = kindVersionWarning(result.stdout);
      if (warning) ctx.warnings?.push(warning);
    }
    if (cmd.argv[0] === 'helm') {
      const problem = helmVersionProblem(result.stdout);
      if (problem) throw new PrerequisiteError(problem);
    }
  }
}

async function runCoredns(step: Extract<Step, { type: 'coredns' }>, runner: Runner, cwd: string | undefined, output: Output) {
  const [get, apply, restart, status] = step.commands as [Cmd, Cmd, Cmd, Cmd];
  output(`$ ${renderCommand(get)}`);
  const current = await runChecked(runner, get, { cwd });
  const { corefile, changed } = addRewrite(current.stdout, step.rule);
  if (!changed) {
    output('the rewrite is already in place');
    return false;
  }
  output(`$ ${shown(apply)}`);
  await runChecked(runner, apply, { cwd, input: JSON.stringify(corednsConfigMap(corefile)) });
  await runCommands(runner, [restart, status], cwd, output);
  return true;
}

/** down: per namespace, keep it with its claims, or delete them (--purge) and it (teardown.ts decides). */
async function runNamespaces(step: Extract<Step, { type: 'namespaces' }>, runner: Runner, cwd: string | undefined, output: Output, notes: string[] | undefined) {
  const { context, purge } = step;
  for (const { name, userSecrets } of step.namespaces) {
    const list = claimsCommand(name, context);
    output(`$ ${shown(list)}`);
    const claims = parseClaims((await runChecked(runner, list, { cwd })).stdout);
    const decision = decideNamespace(name, claims, purge, userSecrets);
    if (decision.deleteClaims) {
      output(`deleting the PersistentVolumeClaims of ${name}: ${claims.map(describeClaim).join(', ')}`);
      await runCommands(runner, [purgeClaimsCommand(name, context)], cwd, output);
    }
    if (decision.deleteNamespace) await runCommands(runner, [namespaceDeleteCommand(name, context)], cwd, output);
    for (const line of decision.kept) {
      output(`kept: ${line}`);
      notes?.push(`kept: ${line}`);
    }
  }
}

export function stepTask(step: Step, ctx: RunContext): ListrTask | undefined {
  const runner = ctx.runner ?? spawnRunner;
  const lookup = ctx.lookup ?? lookupOnPath();
  const cwd = ctx.cwd;
  switch (step.type) {
    case 'prerequisites':
      return { title: step.title, task: async (_c, task) => runPrerequisites(step, { ...ctx, runner, lookup }, (l) => (task.output = l)) };
    case 'commands':
      return {
        title: step.title,
        task: async (_c, task) => {
          const output: Output = (l) => (task.output = l);
          if (step.skipIf) {
            const probe = await runChecked(runner, step.skipIf.probe, { cwd });
            if (probe.stdout.split(/\r?\n/).some((l) => l.trim() === step.skipIf!.line)) {
              task.skip(`${step.title}: ${step.skipIf.message}`);
              return;
            }
          }
          await runCommands(runner, step.commands, cwd, output, ctx.retryDelayMs);
        },
      };
    case 'coredns':
      return {
        title: step.title,
        task: async (_c, task) => {
          const changed = await runCoredns(step, runner, cwd, (l) => (task.output = l));
          if (!changed) task.skip(`${step.title}: already in place`);
        },
      };
    case 'secrets':
      return {
        title: step.title,
        task: async (_c, task) => {
          const outcomes = await ensureSecrets(step.secrets, { runner, context: step.context, fileRoots: ctx.fileRoots, log: (l) => (task.output = l) });
          const created = outcomes.filter((o) => o.action !== 'kept').length;
          task.title = `${step.title}: ${created} created or updated, ${outcomes.length - created} kept`;
        },
      };
    case 'checks':
      return {
        title: step.title,
        task: async (_c, task) => {
          const passed = await runChecks(step.checks, { runner, context: step.context, beforeChanges: step.beforeChanges, cwd, onLine: (l) => (task.output = l) });
          task.title = `${step.title}: ${passed.join('; ')}`;
        },
      };
    case 'namespaces':
      return { title: step.title, task: async (_c, task) => runNamespaces(step, runner, cwd, (l) => (task.output = l), ctx.notes) };
    case 'summary':
    case 'note':
      return undefined;
  }
}

/** Runs the steps; resolves with the summary lines to print, rejects with the first failure. */
export async function runPlan(steps: readonly Step[], ctx: RunContext = {}): Promise<string[]> {
  const tasks = steps.map((s) => stepTask(s, ctx)).filter((t): t is ListrTask => t !== undefined);
  const listr = ctx.silent
    ? new Listr(tasks, { concurrent: false, exitOnError: true, renderer: 'silent' })
    : new Listr(tasks, {
        concurrent: false,
        exitOnError: true,
        rendererOptions: { timer: PRESET_TIMER, collapseErrors: false },
        fallbackRendererOptions: { timer: PRESET_TIMER },
      });
  await listr.run();
  return steps.flatMap((s) => (s.type === 'summary' ? s.lines : []));
}
