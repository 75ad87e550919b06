/**
 * Commands as data, how they are shown (shell-quoted, secrets masked) and how they are run
 * (argv without a shell, stdin piped, stdout/stderr captured, fail fast with stderr).
 */
import { spawn } from 'node:child_process';

export const CLUSTER_NAME = 'courseops';
/**
 * The kubeconfig context kind writes for the cluster: every kubectl/helm call names a context explicitly (this
 * one, or the one given with --context), never the current one, which may be any cluster.
 */
export const KUBE_CONTEXT = `kind-${CLUSTER_NAME}`;
/** Server-side apply field manager for what `up` writes itself (secrets, namespaces, CoreDNS). */
export const FIELD_MANAGER = 'courseops-up';

/** The one Dockerfile of every service image, the service chosen by build arguments (services/Dockerfile). */
export const SERVICE_DOCKERFILE = 'services/Dockerfile';

/** `docker build` of a service's image from the repository root; BASE_IMAGE only when given. */
export function serviceImageBuild(service: { name: string; port: number }, image: string, baseImage?: string): Cmd {
  const args = ['--build-arg', `SERVICE=${service.name}`, '--build-arg', `PORT=${service.port}`, ...(baseImage ? ['--build-arg', `BASE_IMAGE=${baseImage}`] : [])];
  return { argv: ['docker', 'build', '-f', SERVICE_DOCKERFILE, ...args, '-t', image, '.'] };
}

/** What goes to a command's stdin. Its content is made at run time; only `describe` is ever shown. */
export type Stdin =
  | { kind: 'secret'; namespace: string; name: string; keys: { key: string; source: string }[] }
  | { kind: 'manifest'; describe: string };

export interface Cmd {
  argv: string[];
  stdin?: Stdin;
  /** Shown after the command in the dry run, e.g. "only if missing". */
  note?: string;
  /** Retries for commands that race a starting webhook (server-side apply). */
  retries?: number;
  timeoutMs?: number;
  /**
   * A failure whose stderr matches means there was nothing left to do (`down` run again: the release or the
   * CRD of a kind is already gone), so the command counts as done.
   */
  goneWhen?: RegExp;
  /** What a failure most likely means and how to fix it, added to the error. */
  onFailure?: string;
}

/** kubectl against the kind cluster `up` creates. */
export function kubectl(...args: string[]): string[] {
  return kubectlIn(KUBE_CONTEXT, ...args);
}

/** kubectl against a named context. */
export function kubectlIn(context: string, ...args: string[]): string[] {
  return ['kubectl', '--context', context, ...args];
}

const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** POSIX shell quoting, so a printed command can be pasted into a shell. */
export function shellQuote(arg: string): string {
  if (arg === '') return "''";
  if (SAFE.test(arg)) return arg;
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

export function renderStdin(stdin: Stdin): string {
  if (stdin.kind === 'secret') {
    const keys = stdin.keys.map((k) => `${k.key}=${k.source}`).join(', ');
    return `Secret ${stdin.namespace}/${stdin.name} ${keys}`;
  }
  return stdin.describe;
}

/** One line per command; values that reach a command's stdin are never part of it. */
export function renderCommand(cmd: Cmd): string {
  let line = cmd.argv.map(shellQuote).join(' ');
  if (cmd.stdin) line += `   (stdin: ${renderStdin(cmd.stdin)})`;
  if (cmd.note) line += `   # ${cmd.note}`;
  return line;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Content for stdin (secrets go here, never into argv). */
  input?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  /** Called with each line of stdout/stderr as it arrives (progress output). */
  onLine?: (line: string) => void;
}

/** Runs a command; injectable so that tests can fake kubectl. Never throws for a non-zero exit. */
export type Runner = (argv: string[], options?: RunOptions) => Promise<RunResult>;

const MAX_CAPTURE = 4 * 1024 * 1024;

export const spawnRunner: Runner = (argv, options = {}) =>
  new Promise((resolve, reject) => {
    const [file, ...args] = argv;
    if (!file) {
      reject(new Error('empty command'));
      return;
    }
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let partial = '';
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            stderr += `\n(timed out after ${Math.round(options.timeoutMs! / 1000)} s)`;
            child.kill('SIGTERM');
          }, options.timeoutMs);
    const feed = (chunk: string) => {
      if (!options.onLine) return;
      partial += chunk;
      const lines = partial.split(/\r?\n|\r/);
      partial = lines.pop() ?? '';
      for (const line of lines) if (line.trim() !== '') options.onLine(line);
    };
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      if (stdout.length < MAX_CAPTURE) stdout += chunk;
      feed(chunk);
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      if (stderr.length < MAX_CAPTURE) stderr += chunk;
      feed(chunk);
    });
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (timer) clearTimeout(timer);
      resolve({ code: 127, stdout, stderr: `${stderr}${err.code === 'ENOENT' ? `${file}: command not found` : err.message}` });
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    if (options.input !== undefined && child.stdin) {
      child.stdin.on('error', () => {}); // the process may exit before reading everything
      child.stdin.end(options.input);
    }
  });

/** Replaces every occurrence of the given values (and their base64 forms) in a text. */
export function redact(text: string, values: Iterable<string>): string {
  let out = text;
  for (const value of values) {
    if (value.length < 4) continue;
    for (const form of [value, Buffer.from(value).toString('base64')]) out = out.split(form).join('<redacted>');
  }
  return out;
}

export class CommandError extends Error {
  constructor(
    readonly cmd: Cmd,
    readonly result: RunResult,
    secrets: Iterable<string> = [],
  ) {
    const tail = (result.stderr.trim() || result.stdout.trim()).split('\n').slice(-20).join('\n');
    super(`command failed (exit ${result.code}): ${renderCommand(cmd)}\n${redact(tail, secrets)}${cmd.onFailure ? `\n\n${cmd.onFailure}` : ''}`);
    this.name = 'CommandError';
  }
}

/** Runs a command and throws a CommandError carrying its stderr when it fails (after its retries). */
export async function runChecked(
  runner: Runner,
  cmd: Cmd,
  options: RunOptions & { retryDelayMs?: number; secrets?: Iterable<string> } = {},
): Promise<RunResult> {
  const attempts = 1 + (cmd.retries ?? 0);
  let last: RunResult | undefined;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    last = await runner(cmd.argv, { timeoutMs: cmd.timeoutMs, ...options });
    if (last.code === 0) return last;
    if (cmd.goneWhen?.test(last.stderr)) {
      options.onLine?.(`nothing to do: ${last.stderr.trim().split('\n').at(-1) ?? ''}`);
      return last;
    }
    if (attempt < attempts) {
      options.onLine?.(`attempt ${attempt}/${attempts} failed, retrying: ${last.stderr.trim().split('\n').at(-1) ?? ''}`);
      await new Promise((r) => setTimeout(r, options.retryDelayMs ?? 10_000));
    }
  }
  throw new CommandError(cmd, last!, options.secrets);
}
