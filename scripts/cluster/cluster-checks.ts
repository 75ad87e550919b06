/**
 * What `up --context NAME` checks in an existing cluster before it changes anything, as data (the commands, shown by
 * the dry run) and pure verdicts over what kubectl prints (unit-tested on realistic output); runChecks runs them.
 *   - the server version: at least MIN_SERVER_VERSION;
 *   - the StorageClass: the one dist/services.json names exists, or (none named) the cluster has a default one;
 *   - an existing ClusterIssuer (tls.clusterIssuer): it exists. When the releases install cert-manager and its CRDs
 *     are not there yet, it cannot exist yet either: the check is deferred to its own step right after the
 *     cert-manager release (plan.ts), and fails there, before any other release, naming what to create;
 *   - each external database's Secret (services[i].databaseSecret, which the user creates): it exists with its key.
 *     Only the key names are read (a go-template), never the values.
 * Every failed check is reported, each naming what is missing and how to fix it.
 */
import type { ServicesFile } from '../../cdk8s/src/services-file.js';
import { kubectlIn, renderCommand, type Cmd, type RunResult, type Runner } from './commands.js';

/**
 * The oldest Kubernetes the platform runs on: 1.30. The Gateway API v1.6.1 standard install ships a
 * ValidatingAdmissionPolicy (admissionregistration.k8s.io/v1, served since 1.30), and the services' topology spread
 * uses matchLabelKeys (on by default since 1.27; an older scheduler ignores it and counts every revision together).
 * kind-config.yaml pins 1.34, inside this range.
 */
export const MIN_SERVER_VERSION = { major: 1, minor: 30 } as const;

export const DEFAULT_CLASS_ANNOTATION = 'storageclass.kubernetes.io/is-default-class';
/** Still honoured by the default-StorageClass admission plugin. */
const BETA_DEFAULT_CLASS_ANNOTATION = 'storageclass.beta.kubernetes.io/is-default-class';

export type ClusterCheck =
  | { kind: 'server-version'; cmd: Cmd }
  | { kind: 'storage-class'; storageClass?: string; cmd: Cmd }
  | {
      kind: 'cluster-issuer';
      issuer: string;
      /** before-changes: cert-manager's CRDs may be missing still (the releases install it); after-cert-manager: they must be there. */
      phase: 'before-changes' | 'after-cert-manager';
      cmd: Cmd;
    }
  | { kind: 'database-secret'; service: string; namespace: string; name: string; key: string; cmd: Cmd };

export interface Verdict {
  /** What is missing and how to fix it; undefined when the check passed. */
  problem?: string;
  /** Something to say although the check passed (e.g. deferred). */
  note?: string;
}

const TIMEOUT_MS = 60_000;
/** The key names of a Secret, one per line after its name; the values never leave the cluster. */
const SECRET_KEYS_TEMPLATE = 'go-template={{.metadata.name}}{{"\\n"}}{{range $k, $v := .data}}{{$k}}{{"\\n"}}{{end}}';

export function serverVersionCheck(context: string): ClusterCheck {
  return { kind: 'server-version', cmd: { argv: kubectlIn(context, 'version', '-o', 'json'), timeoutMs: TIMEOUT_MS } };
}

export function clusterIssuerCheck(context: string, issuer: string, phase: 'before-changes' | 'after-cert-manager'): ClusterCheck {
  return { kind: 'cluster-issuer', issuer, phase, cmd: { argv: kubectlIn(context, 'get', 'clusterissuers.cert-manager.io', issuer, '-o', 'name'), timeoutMs: TIMEOUT_MS } };
}

/** The checks run before anything is changed, for dist/services.json. */
export function clusterChecks(declared: ServicesFile, context: string, installsCertManager: boolean): ClusterCheck[] {
  const checks: ClusterCheck[] = [serverVersionCheck(context)];
  const { storageClass, issuer } = declared.cluster;
  checks.push({ kind: 'storage-class', ...(storageClass ? { storageClass } : {}), cmd: { argv: kubectlIn(context, 'get', 'storageclasses.storage.k8s.io', '-o', 'json'), timeoutMs: TIMEOUT_MS } });
  if (issuer.existing) checks.push(clusterIssuerCheck(context, issuer.name, installsCertManager ? 'before-changes' : 'after-cert-manager'));
  for (const s of declared.services) {
    if (s.database !== 'external' || !s.databaseSecret) continue;
    const { name, key } = s.databaseSecret;
    checks.push({
      kind: 'database-secret',
      service: s.name,
      namespace: s.namespace,
      name,
      key,
      cmd: { argv: kubectlIn(context, '-n', s.namespace, 'get', 'secret', name, '--ignore-not-found', '-o', SECRET_KEYS_TEMPLATE), timeoutMs: TIMEOUT_MS },
    });
  }
  return checks;
}

function lastLine(text: string): string {
  return text.trim().split('\n').at(-1) ?? '';
}

function unreachable(result: RunResult, context: string): string {
  return (
    `cannot reach the API server of context "${context}": ${lastLine(result.stderr) || `exit ${result.code}`}. ` +
    `Check the name (\`kubectl config get-contexts\`) and your credentials (\`kubectl --context ${context} get nodes\`).`
  );
}

/** The server's major.minor from `kubectl version -o json` (gitVersion first: managed clusters print minor "30+"). */
export function parseServerVersion(stdout: string): { major: number; minor: number; gitVersion: string } | undefined {
  let data: { serverVersion?: { major?: string; minor?: string; gitVersion?: string } };
  try {
    data = JSON.parse(stdout) as typeof data;
  } catch {
    return undefined;
  }
  const v = data.serverVersion;
  if (!v) return undefined;
  const git = /^v(\d+)\.(\d+)\./.exec(v.gitVersion ?? '');
  const major = Number(git?.[1] ?? v.major?.replace(/\D/g, ''));
  const minor = Number(git?.[2] ?? v.minor?.replace(/\D/g, ''));
  if (!Number.isInteger(major) || !Number.isInteger(minor)) return undefined;
  return { major, minor, gitVersion: v.gitVersion ?? `v${major}.${minor}` };
}

export function serverVersionVerdict(result: RunResult, context: string): Verdict {
  if (result.code !== 0) return { problem: unreachable(result, context) };
  const version = parseServerVersion(result.stdout);
  if (!version) return { problem: `\`kubectl --context ${context} version -o json\` printed no server version: ${result.stdout.slice(0, 200)}` };
  const { major, minor } = MIN_SERVER_VERSION;
  if (version.major < major || (version.major === major && version.minor < minor)) {
    return {
      problem:
        `context "${context}" runs Kubernetes ${version.gitVersion}, older than ${major}.${minor}, the oldest the platform runs on ` +
        `(the Gateway API CRDs' ValidatingAdmissionPolicy needs ${major}.${minor}): upgrade the cluster, or choose another context.`,
    };
  }
  return { note: `Kubernetes ${version.gitVersion}` };
}

interface StorageClassList {
  items?: { metadata?: { name?: string; annotations?: Record<string, string> }; provisioner?: string }[];
}

export function storageClassVerdict(result: RunResult, storageClass: string | undefined, context: string): Verdict {
  if (result.code !== 0) return { problem: `cannot list the StorageClasses of context "${context}": ${lastLine(result.stderr)}` };
  let list: StorageClassList;
  try {
    list = JSON.parse(result.stdout) as StorageClassList;
  } catch {
    return { problem: `\`kubectl get storageclasses -o json\` did not print JSON: ${result.stdout.slice(0, 200)}` };
  }
  const classes = (list.items ?? []).map((c) => ({
    name: c.metadata?.name ?? '',
    isDefault: [DEFAULT_CLASS_ANNOTATION, BETA_DEFAULT_CLASS_ANNOTATION].some((a) => c.metadata?.annotations?.[a] === 'true'),
  }));
  const available = classes.length > 0 ? `it has: ${classes.map((c) => `${c.name}${c.isDefault ? ' (default)' : ''}`).join(', ')}` : 'it has none';
  if (storageClass) {
    if (classes.some((c) => c.name === storageClass)) return { note: `StorageClass ${storageClass}` };
    const instead = classes.length > 0 ? 'set storageClass to one of those (or leave it out for the default one) and `npm run synth`, or ' : '';
    return {
      problem: `the StorageClass "${storageClass}" (storageClass in the config file) does not exist in context "${context}" (${available}): ${instead}create that StorageClass.`,
    };
  }
  const defaults = classes.filter((c) => c.isDefault);
  if (defaults.length > 0) return { note: `default StorageClass ${defaults.map((c) => c.name).join(', ')}` };
  const example = classes[0]?.name ?? 'NAME';
  return {
    problem:
      `context "${context}" has no default StorageClass (annotation ${DEFAULT_CLASS_ANNOTATION}: "true"; ${available}), and the config names none, ` +
      `so the platform's volumes would never bind: set storageClass: ${example} in the config file and \`npm run synth\`, or make one the default: ` +
      `kubectl --context ${context} annotate storageclass ${example} ${DEFAULT_CLASS_ANNOTATION}=true`,
  };
}

export function clusterIssuerVerdict(result: RunResult, check: Extract<ClusterCheck, { kind: 'cluster-issuer' }>, context: string): Verdict {
  const { issuer, phase } = check;
  if (result.code === 0) return { note: `ClusterIssuer ${issuer}` };
  const again = `then \`npm run up -- --context ${context}\` again`;
  if (/doesn't have a resource type|no matches for kind|could not find the requested resource/i.test(result.stderr)) {
    if (phase === 'before-changes') return { note: `ClusterIssuer ${issuer}: checked once the cert-manager release is installed (its CRDs are not there yet)` };
    return { problem: `cert-manager's CRDs are not in context "${context}", so the ClusterIssuer "${issuer}" (tls.clusterIssuer in the config file) cannot exist: install cert-manager, create the issuer, ${again}.` };
  }
  if (/NotFound|not found/.test(result.stderr)) {
    const installed = phase === 'after-cert-manager' ? ' cert-manager is installed now; what up installed so far stays and is updated in place on the next run.' : '';
    return {
      problem:
        `the ClusterIssuer "${issuer}" (tls.clusterIssuer in the config file) does not exist in context "${context}".${installed} ` +
        `Create it (https://cert-manager.io/docs/configuration/), or choose tls: { acme: { server, email } } and \`npm run synth\`, ${again}.`,
    };
  }
  return { problem: `cannot read the ClusterIssuer "${issuer}" in context "${context}": ${lastLine(result.stderr)}` };
}

export function databaseSecretVerdict(result: RunResult, check: Extract<ClusterCheck, { kind: 'database-secret' }>, context: string): Verdict {
  const { service, namespace, name, key } = check;
  const id = `${namespace}/${name}`;
  if (result.code !== 0) return { problem: `cannot read the Secret ${id} in context "${context}": ${lastLine(result.stderr)}` };
  const [found, ...keys] = result.stdout.split('\n').map((l) => l.trim()).filter(Boolean);
  const create =
    `kubectl --context ${context} create namespace ${namespace} (if missing), then ` +
    `kubectl --context ${context} -n ${namespace} create secret generic ${name} --from-file=${key}=database-url.txt ` +
    `(the file holds the URL, e.g. postgresql://USER:PASSWORD@HOST:5432/DATABASE?sslmode=require)`;
  if (found !== name) {
    return { problem: `service ${service} uses an external database, but its Secret ${id} (key "${key}": the DATABASE_URL) does not exist in context "${context}": create it before up: ${create}.` };
  }
  if (!keys.includes(key)) {
    return {
      problem:
        `the Secret ${id} of service ${service}'s external database has no key "${key}" (it has: ${keys.join(', ') || 'no keys'}): ` +
        `add it: kubectl --context ${context} -n ${namespace} patch secret ${name} --type merge -p '{"stringData":{"${key}":"postgresql://..."}}'`,
    };
  }
  return { note: `Secret ${id} (${key})` };
}

export function checkVerdict(check: ClusterCheck, result: RunResult, context: string): Verdict {
  switch (check.kind) {
    case 'server-version':
      return serverVersionVerdict(result, context);
    case 'storage-class':
      return storageClassVerdict(result, check.storageClass, context);
    case 'cluster-issuer':
      return clusterIssuerVerdict(result, check, context);
    case 'database-secret':
      return databaseSecretVerdict(result, check, context);
  }
}

export class ClusterCheckError extends Error {
  constructor(context: string, problems: readonly string[], beforeChanges: boolean) {
    const unchanged = beforeChanges ? ' (nothing was changed)' : '';
    super(`The cluster of context "${context}" is not ready for the platform${unchanged}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ClusterCheckError';
  }
}

/** Runs every check (all of them, to report every problem at once); throws a ClusterCheckError listing the problems. */
export async function runChecks(
  checks: readonly ClusterCheck[],
  options: { runner: Runner; context: string; beforeChanges?: boolean; onLine?: (line: string) => void; cwd?: string },
): Promise<string[]> {
  const problems: string[] = [];
  const notes: string[] = [];
  for (const check of checks) {
    options.onLine?.(`$ ${renderCommand(check.cmd)}`);
    const result = await options.runner(check.cmd.argv, { cwd: options.cwd, timeoutMs: check.cmd.timeoutMs });
    const verdict = checkVerdict(check, result, options.context);
    if (verdict.problem) problems.push(verdict.problem);
    if (verdict.note) {
      notes.push(verdict.note);
      options.onLine?.(verdict.note);
    }
  }
  if (problems.length > 0) throw new ClusterCheckError(options.context, problems, options.beforeChanges ?? false);
  return notes;
}
