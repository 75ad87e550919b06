/**
 * The generated Secrets: values from node:crypto at deploy time, never printed, never written to a file,
 * passed to kubectl on stdin. Idempotent: an existing Secret keeps its values (a second `up` must not
 * rotate database passwords); only keys it lacks are generated, and derived keys (bcrypt hashes,
 * copies) follow their source.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import { FIELD_MANAGER, KUBE_CONTEXT, kubectlIn, runChecked, type Cmd, type Runner, type Stdin } from './commands.js';
import type { SecretKeySpec, SecretSpec } from './inputs.js';

export const MANAGED_BY_LABEL = { 'app.kubernetes.io/managed-by': FIELD_MANAGER } as const;

/** Generators: URL-safe so a value can go into a connection string unescaped. */
export function generateValue(kind: string, bytes?: number, random: (n: number) => Buffer = randomBytes): string {
  switch (kind) {
    case 'password':
      // 24 bytes -> 32 characters of base64url (also a valid 24-byte oauth2-proxy cookie secret).
      return random(bytes ?? 24).toString('base64url');
    case 'token':
    case 'hex':
      return random(bytes ?? 32).toString('hex');
    case 'base64':
      return random(bytes ?? 32).toString('base64');
    default:
      throw new Error(`unknown generator "${kind}" (known: password, token, hex, base64)`);
  }
}

/** How a key's value is shown in the dry run. */
export function describeSource(k: SecretKeySpec): string {
  if ('from' in k) return `<bcrypt of ${k.from}>`;
  if ('generate' in k) return '<generated>';
  if ('copyFrom' in k) return `<copy of ${k.copyFrom.namespace}/${k.copyFrom.name} ${k.copyFrom.key}>`;
  if ('value' in k) return '<fixed value>';
  return `<from ${k.fromFile}>`;
}

export function namespaceCommands(namespace: string, context = KUBE_CONTEXT): Cmd[] {
  return [
    { argv: kubectlIn(context, 'get', 'namespace', namespace, '-o', 'name', '--ignore-not-found') },
    { argv: kubectlIn(context, 'create', 'namespace', namespace), note: 'only if missing' },
  ];
}

export function getSecretCommand(spec: SecretSpec, context = KUBE_CONTEXT): Cmd {
  return { argv: kubectlIn(context, 'get', 'secret', spec.name, '-n', spec.namespace, '-o', 'json', '--ignore-not-found') };
}

export function applySecretCommand(spec: SecretSpec, context = KUBE_CONTEXT): Cmd {
  const stdin: Stdin = {
    kind: 'secret',
    namespace: spec.namespace,
    name: spec.name,
    keys: spec.keys.map((k) => ({ key: k.key, source: describeSource(k) })),
  };
  return {
    argv: kubectlIn(context, 'apply', '--server-side', '--force-conflicts', `--field-manager=${FIELD_MANAGER}`, '-f', '-'),
    stdin,
    note: 'only when new or changed; existing generated values are kept',
  };
}

/** The commands the secrets step runs, for the dry run (namespaces first, then each Secret). */
export function secretStepCommands(specs: readonly SecretSpec[], context = KUBE_CONTEXT): Cmd[] {
  const namespaces = [...new Set(specs.map((s) => s.namespace))];
  return [...namespaces.flatMap((ns) => namespaceCommands(ns, context)), ...specs.flatMap((s) => [getSecretCommand(s, context), applySecretCommand(s, context)])];
}

export interface SecretManifest {
  apiVersion: 'v1';
  kind: 'Secret';
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  type: string;
  data: Record<string, string>;
}

export function secretManifest(spec: SecretSpec, values: Record<string, string | Buffer>): SecretManifest {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: spec.name, namespace: spec.namespace, labels: { ...MANAGED_BY_LABEL, ...spec.labels } },
    type: spec.type ?? 'Opaque',
    data: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, (typeof v === 'string' ? Buffer.from(v) : v).toString('base64')])),
  };
}

export interface EnsureSecretsOptions {
  runner: Runner;
  /** The kube context (default: the kind cluster's). */
  context?: string;
  /** Reads a fromFile key's file; relative paths are tried against `fileRoots` in order. */
  readFile?: (file: string) => Buffer;
  fileRoots?: string[];
  random?: (n: number) => Buffer;
  /** bcrypt cost for `generate: "bcrypt"` keys (10; tests use less). */
  bcryptCost?: number;
  log?: (line: string) => void;
}

export interface SecretOutcome {
  namespace: string;
  name: string;
  action: 'created' | 'kept' | 'updated';
  /** Keys given a new value in this run (generated, hashed, copied, read or fixed). */
  changedKeys: string[];
  /** Keys whose existing value was kept. */
  keptKeys: string[];
}

function readFromFile(file: string, roots: string[], read: (f: string) => Buffer): Buffer {
  const candidates = path.isAbsolute(file) ? [file] : roots.map((r) => path.resolve(r, file));
  for (const candidate of candidates) {
    try {
      return read(candidate);
    } catch {
      // try the next root
    }
  }
  throw new Error(`cannot read ${file} (tried ${candidates.join(', ')})`);
}

function decodeExisting(stdout: string): { data: Record<string, Buffer>; labels: Record<string, string> } | undefined {
  if (stdout.trim() === '') return undefined;
  const obj = JSON.parse(stdout) as { data?: Record<string, string>; metadata?: { labels?: Record<string, string> } };
  const data: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(obj.data ?? {})) data[k] = Buffer.from(v, 'base64');
  return { data, labels: obj.metadata?.labels ?? {} };
}

/**
 * Creates the namespaces and Secrets, in the order of secrets.json (a copy reads a Secret listed earlier).
 * Random keys keep an existing value; a bcrypt key keeps an existing hash that still matches its source;
 * copies, fixed values and files follow their source. Nothing is applied for a Secret that already holds
 * every key with the wanted value and labels.
 */
export async function ensureSecrets(specs: readonly SecretSpec[], options: EnsureSecretsOptions): Promise<SecretOutcome[]> {
  const { runner } = options;
  const read = options.readFile ?? ((f: string) => readFileSync(f));
  const roots = options.fileRoots ?? [process.cwd()];
  const log = options.log ?? (() => {});
  const context = options.context ?? KUBE_CONTEXT;

  for (const namespace of [...new Set(specs.map((s) => s.namespace))]) {
    const [get, create] = namespaceCommands(namespace, context) as [Cmd, Cmd];
    const found = await runChecked(runner, get);
    if (found.stdout.trim() === '') {
      log(`creating namespace ${namespace}`);
      await runChecked(runner, create);
    }
  }

  /** The values this run settles on, for copies: "namespace/name" -> key -> value. */
  const resolved = new Map<string, Map<string, Buffer>>();
  const outcomes: SecretOutcome[] = [];
  for (const spec of specs) {
    const id = `${spec.namespace}/${spec.name}`;
    const existing = decodeExisting((await runChecked(runner, getSecretCommand(spec, context))).stdout);
    const values = new Map<string, Buffer>();
    const changedKeys: string[] = [];
    const keptKeys: string[] = [];
    const settle = (key: string, value: Buffer) => {
      values.set(key, value);
      if (existing?.data[key]?.equals(value)) keptKeys.push(key);
      else changedKeys.push(key);
    };
    // Sources first, bcrypt hashes (which read another key of this Secret) last.
    for (const k of [...spec.keys.filter((k) => !('from' in k)), ...spec.keys.filter((k) => 'from' in k)]) {
      const current = existing?.data[k.key];
      if ('from' in k) {
        const source = values.get(k.from);
        if (!source) throw new Error(`secret ${id}: ${k.key} hashes unknown key ${k.from}`);
        const password = source.toString('utf8');
        const keep = current !== undefined && current.length > 0 && bcrypt.compareSync(password, current.toString('utf8'));
        settle(k.key, keep ? current : Buffer.from(bcrypt.hashSync(password, options.bcryptCost ?? 10)));
      } else if ('generate' in k) {
        const keep = current !== undefined && current.length > 0;
        settle(k.key, keep ? current : Buffer.from(generateValue(k.generate, k.bytes, options.random)));
      } else if ('copyFrom' in k) {
        const source = resolved.get(`${k.copyFrom.namespace}/${k.copyFrom.name}`)?.get(k.copyFrom.key);
        if (!source) throw new Error(`secret ${id}: ${k.key} copies ${k.copyFrom.namespace}/${k.copyFrom.name} ${k.copyFrom.key}, which is not a secret listed before it`);
        settle(k.key, source);
      } else if ('value' in k) {
        settle(k.key, Buffer.from(k.value));
      } else {
        settle(k.key, readFromFile(k.fromFile, roots, read));
      }
    }
    resolved.set(id, values);

    const wantLabels = { ...MANAGED_BY_LABEL, ...spec.labels };
    const labelsChanged = existing !== undefined && Object.entries(wantLabels).some(([k, v]) => existing.labels[k] !== v);
    // Report in the order of secrets.json.
    const order = (keys: string[]) => spec.keys.map((k) => k.key).filter((k) => keys.includes(k));
    const outcome = { namespace: spec.namespace, name: spec.name, changedKeys: order(changedKeys), keptKeys: order(keptKeys) };
    if (existing && changedKeys.length === 0 && !labelsChanged) {
      log(`secret ${id}: exists, values kept`);
      outcomes.push({ ...outcome, action: 'kept' });
      continue;
    }
    const data = Object.fromEntries(spec.keys.map((k) => [k.key, values.get(k.key)!]));
    const manifest = JSON.stringify(secretManifest(spec, data));
    // Fixed values are not secret (and short words like "admin" would garble an error message).
    const secrets = spec.keys.filter((k) => !('value' in k)).map((k) => values.get(k.key)!.toString('utf8'));
    await runChecked(runner, applySecretCommand(spec, context), { input: manifest, secrets });
    const action = existing ? 'updated' : 'created';
    log(`secret ${id}: ${action}${outcome.changedKeys.length ? ` (${outcome.changedKeys.join(', ')})` : ''}`);
    outcomes.push({ ...outcome, action });
  }
  return outcomes;
}
