/** Small shared pieces of the cluster entry points: flags, the repository root, error output. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface Flags {
  dryRun: boolean;
  help: boolean;
  values: Map<string, string>;
  switches: Set<string>;
  /** Arguments that are not flags, in order (only with `allowPositionals`). */
  positionals: string[];
}

function truthy(v: string | undefined): boolean {
  return v !== undefined && v !== '' && v !== 'false' && v !== '0';
}

/**
 * Parses `--flag`, `--flag=value` and `--flag value` (for the names in `withValue`). `npm run up --dry-run`
 * (without `--`) does not pass the flag through but sets npm_config_dry_run, so both forms work.
 * Other arguments are refused unless `allowPositionals` (the caller then checks `positionals`).
 */
export function parseFlags(
  argv: readonly string[],
  withValue: readonly string[] = [],
  env: NodeJS.ProcessEnv = process.env,
  allowPositionals = false,
): Flags {
  const values = new Map<string, string>();
  const switches = new Set<string>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      if (!allowPositionals) throw new Error(`unexpected argument ${arg} (see --help)`);
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    if (withValue.includes(name)) {
      const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined) throw new Error(`--${name} needs a value`);
      values.set(name, value);
    } else {
      if (eq >= 0) throw new Error(`--${name} takes no value`);
      switches.add(name);
    }
  }
  const dryRun = switches.has('dry-run') || truthy(env.npm_config_dry_run);
  return { dryRun, help: switches.has('help') || switches.has('h'), values, switches, positionals };
}

export function checkSwitches(flags: Flags, allowed: readonly string[]): void {
  for (const s of flags.switches) {
    if (!allowed.includes(s)) throw new Error(`unknown flag --${s} (see --help)`);
  }
}

/** A path given on the command line, relative to where the user ran npm, shown relative to the repository. */
export function userPath(p: string, env: NodeJS.ProcessEnv = process.env): string {
  const abs = path.resolve(env.INIT_CWD ?? process.cwd(), p);
  const rel = path.relative(REPO_ROOT, abs);
  return rel.startsWith('..') || path.isAbsolute(rel) ? abs : rel || '.';
}

/** A request `up`/`down` refuses before doing anything (wrong target for dist/, mismatched flags): exit code 2. */
export class Refusal extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Refusal';
  }
}

export function fail(err: unknown): never {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`\n${message}\n`);
  process.exit(err instanceof Refusal ? 2 : 1);
}
