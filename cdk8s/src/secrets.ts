/**
 * Secrets the bring-up creates at deploy time (dist/secrets.json). Only their shape is declared here:
 * no value ever reaches git or dist/, workloads reference them by name (secretKeyRef, existingSecret).
 *
 * Key forms:
 * - `{ key, generate: "password" }`: a URL-safe random string (base64url, at least 24 bytes): it goes
 *   into a connection string unescaped and serves as a 32-character oauth2-proxy cookie secret;
 * - `{ key, generate: "bcrypt", from }`: bcrypt hash (cost 10) of the value of key `from` of the same Secret;
 * - `{ key, copyFrom: { namespace, name, key } }`: the same value as a key of a Secret listed earlier
 *   (a Secret cannot be read across namespaces, e.g. Grafana's Dex client secret);
 * - `{ key, value }`: a fixed, non-secret value that must live in the Secret (a user or client name);
 * - `{ key, fromFile }`: the content of a file, path relative to the repository.
 */
export type SecretKeySpec =
  | { readonly key: string; readonly generate: 'password' }
  | { readonly key: string; readonly generate: 'bcrypt'; readonly from: string }
  | { readonly key: string; readonly copyFrom: { readonly namespace: string; readonly name: string; readonly key: string } }
  | { readonly key: string; readonly value: string }
  | { readonly key: string; readonly fromFile: string };

export interface SecretSpec {
  readonly namespace: string;
  readonly name: string;
  readonly keys: readonly SecretKeySpec[];
  readonly labels?: Readonly<Record<string, string>>;
  /** Secret type when not Opaque, e.g. `kubernetes.io/basic-auth` (ECK's file realm users). */
  readonly type?: string;
}

/** The Secret type Kubernetes validates for `username` and `password` keys (ECK's file realm reads it). */
export const BASIC_AUTH = 'kubernetes.io/basic-auth';

/** Collects the Secrets declared by constructs and releases, in declaration order. */
export class SecretRegistry {
  private readonly specs: SecretSpec[] = [];

  add(spec: SecretSpec): SecretSpec {
    const id = `${spec.namespace}/${spec.name}`;
    if (this.specs.some((s) => `${s.namespace}/${s.name}` === id)) throw new Error(`secret ${id} declared twice`);
    const keys = new Set<string>();
    for (const k of spec.keys) {
      if (keys.has(k.key)) throw new Error(`secret ${id}: key ${k.key} declared twice`);
      if ('generate' in k && k.generate === 'bcrypt' && !spec.keys.some((o) => o.key === k.from)) {
        throw new Error(`secret ${id}: ${k.key} hashes unknown key ${k.from}`);
      }
      if ('copyFrom' in k) {
        const src = this.specs.find((s) => s.namespace === k.copyFrom.namespace && s.name === k.copyFrom.name);
        if (!src?.keys.some((o) => o.key === k.copyFrom.key)) {
          throw new Error(`secret ${id}: ${k.key} copies ${k.copyFrom.namespace}/${k.copyFrom.name}.${k.copyFrom.key}, not declared before`);
        }
      }
      keys.add(k.key);
    }
    if (spec.type === BASIC_AUTH) {
      for (const required of ['username', 'password']) {
        if (!keys.has(required)) throw new Error(`secret ${id}: a ${BASIC_AUTH} Secret needs the key ${required}`);
      }
    }
    this.specs.push(spec);
    return spec;
  }

  /**
   * Adds Secrets that may copy keys from one another (each release declares its own): each one after the
   * Secrets it copies from, otherwise in the order given. A copy of a Secret declared nowhere fails as in add().
   */
  addAll(specs: readonly SecretSpec[]): void {
    const pending = [...specs];
    const waitsFor = (spec: SecretSpec) =>
      spec.keys.some((k) => 'copyFrom' in k && pending.some((p) => p !== spec && p.namespace === k.copyFrom.namespace && p.name === k.copyFrom.name));
    while (pending.length > 0) {
      const next = pending.findIndex((spec) => !waitsFor(spec));
      // -1: copies in a loop; add() names the first copy whose source is not declared yet.
      this.add(pending.splice(Math.max(next, 0), 1)[0]!);
    }
  }

  has(namespace: string, name: string, key: string): boolean {
    return this.specs.some((s) => s.namespace === namespace && s.name === name && s.keys.some((k) => k.key === key));
  }

  list(): readonly SecretSpec[] {
    return this.specs;
  }
}
