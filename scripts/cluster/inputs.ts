/**
 * Reads what `npm run synth` writes to dist/ (the contract between the cdk8s app and `up`):
 *   dist/helm/releases.json   the Helm releases in install order
 *   dist/manifests/*.yaml     applied server-side in file-name order
 *   dist/secrets.json         the Secrets `up` generates at deploy time
 *   dist/hosts.json           the public hostnames (under .test for the kind profile, the domain for cluster)
 *   dist/services.json        the declared services, their images and databases, the domain and the
 *                             cluster facts (profile, CoreDNS rewrite, exposure, StorageClass, issuer)
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { z } from 'zod';
import { hostPrefixes, type HostKey } from '../../cdk8s/src/hosts.js';
import type { ServicesFile } from '../../cdk8s/src/services-file.js';

export interface Release {
  order: number;
  name: string;
  namespace: string;
  /** https://… chart repository, or oci://… registry path. */
  repo: string;
  chart: string;
  version: string;
  /** Relative to dist/, e.g. helm/01-cert-manager.values.yaml. */
  valuesFile: string;
  createNamespace?: boolean;
  /** helm --timeout (from "waitFor": {"timeout": "15m"}); 10m when absent. */
  timeout?: string;
}

/**
 * The key forms of dist/secrets.json (cdk8s/src/secrets.ts declares them):
 * - `{ key, generate: "password" | "token" | "hex" | "base64", bytes? }`: random value from node:crypto;
 * - `{ key, generate: "bcrypt", from }`: bcrypt hash (cost 10) of key `from` of the same Secret;
 * - `{ key, copyFrom: { namespace, name, key } }`: the value of a key of a Secret listed earlier;
 * - `{ key, value }`: a fixed, non-secret value;
 * - `{ key, fromFile }`: a file's content, relative to the repository (then to dist/).
 */
export type SecretKeySpec =
  | { key: string; generate: string; bytes?: number }
  | { key: string; generate: 'bcrypt'; from: string }
  | { key: string; copyFrom: { namespace: string; name: string; key: string } }
  | { key: string; value: string }
  | { key: string; fromFile: string };

export interface SecretSpec {
  namespace: string;
  name: string;
  keys: SecretKeySpec[];
  labels?: Record<string, string>;
  type?: string;
}

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

export interface ManifestFile {
  /** Path as given to kubectl (dist dir + manifests/ + file name). */
  path: string;
  objects: ObjectRef[];
}

export interface DistInputs {
  distDir: string;
  releases: Release[];
  manifests: ManifestFile[];
  secrets: SecretSpec[];
  hosts: string[];
  /** Dex static users (emails) from the dex release's values, for the closing summary. */
  dexUsers: string[];
  /** The declared services, the images the manifests run and the domain (cdk8s/src/services-file.ts). */
  declared: ServicesFile;
  /** The Secret of the cluster's root CA (a cert-manager Certificate with isCA), to trust it. */
  caSecret?: { namespace: string; name: string };
}

export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}

function readJson(file: string): unknown {
  if (!existsSync(file)) throw new InputError(`${file} is missing: run \`npm run synth\``);
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new InputError(`${file} is not valid JSON: ${(err as Error).message}`);
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(entry: Record<string, unknown>, field: string, where: string): string {
  const v = entry[field];
  if (typeof v !== 'string' || v === '') throw new InputError(`${where}: "${field}" must be a non-empty string`);
  return v;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

export function parseReleases(data: unknown, file = 'releases.json'): Release[] {
  if (!Array.isArray(data)) throw new InputError(`${file}: expected an array of releases`);
  const releases = data.map((entry, i): Release => {
    const where = `${file}[${i}]`;
    if (!isRecord(entry)) throw new InputError(`${where}: expected an object`);
    const order = entry.order;
    if (typeof order !== 'number' || !Number.isFinite(order)) throw new InputError(`${where}: "order" must be a number`);
    const release: Release = {
      order,
      name: str(entry, 'name', where),
      namespace: str(entry, 'namespace', where),
      repo: str(entry, 'repo', where).replace(/\/+$/, ''),
      chart: str(entry, 'chart', where),
      version: str(entry, 'version', where),
      valuesFile: str(entry, 'valuesFile', where),
      createNamespace: entry.createNamespace === undefined ? true : entry.createNamespace === true,
    };
    if (entry.waitFor !== undefined) {
      const timeout = isRecord(entry.waitFor) ? entry.waitFor.timeout : undefined;
      if (typeof timeout !== 'string' || !/^(?=\d)(\d+h)?(\d+m)?(\d+s)?$/.test(timeout)) {
        throw new InputError(`${where}: "waitFor.timeout" must be a duration such as 10m or 1h30m`);
      }
      release.timeout = timeout;
    }
    if (!/^(https?|oci):\/\//.test(release.repo)) {
      throw new InputError(`${where}: "repo" must start with https://, http:// or oci:// (got ${release.repo})`);
    }
    if (!DNS_LABEL.test(release.name) || !DNS_LABEL.test(release.namespace)) {
      throw new InputError(`${where}: name and namespace must be DNS labels`);
    }
    return release;
  });
  const names = new Set<string>();
  for (const r of releases) {
    const id = `${r.namespace}/${r.name}`;
    if (names.has(id)) throw new InputError(`${file}: release ${id} appears twice`);
    names.add(id);
  }
  // Stable sort: equal orders keep their position in the file.
  return releases.map((r, i) => ({ r, i })).sort((a, b) => a.r.order - b.r.order || a.i - b.i).map(({ r }) => r);
}

export function parseSecrets(data: unknown, file = 'secrets.json'): SecretSpec[] {
  if (!Array.isArray(data)) throw new InputError(`${file}: expected an array of secrets`);
  const specs = data.map((entry, i): SecretSpec => {
    const where = `${file}[${i}]`;
    if (!isRecord(entry)) throw new InputError(`${where}: expected an object`);
    const namespace = str(entry, 'namespace', where);
    const name = str(entry, 'name', where);
    if (!DNS_LABEL.test(namespace) || !DNS_SUBDOMAIN.test(name)) throw new InputError(`${where}: invalid namespace or name`);
    if (!Array.isArray(entry.keys) || entry.keys.length === 0) throw new InputError(`${where}: "keys" must be a non-empty array`);
    const seen = new Set<string>();
    const keys = entry.keys.map((k, j): SecretKeySpec => {
      const kw = `${where}.keys[${j}]`;
      if (!isRecord(k)) throw new InputError(`${kw}: expected an object`);
      const key = str(k, 'key', kw);
      if (!/^[-._a-zA-Z0-9]+$/.test(key)) throw new InputError(`${kw}: "${key}" is not a valid Secret key`);
      if (seen.has(key)) throw new InputError(`${kw}: key "${key}" appears twice`);
      seen.add(key);
      if (k.generate === 'bcrypt') {
        if (typeof k.from !== 'string' || k.from === '') throw new InputError(`${kw}: a bcrypt key needs "from"`);
        return { key, generate: 'bcrypt', from: k.from };
      }
      if (typeof k.generate === 'string') {
        const bytes = k.bytes;
        if (bytes !== undefined && (typeof bytes !== 'number' || !Number.isInteger(bytes) || bytes < 8 || bytes > 512)) {
          throw new InputError(`${kw}: "bytes" must be an integer from 8 to 512`);
        }
        return bytes === undefined ? { key, generate: k.generate } : { key, generate: k.generate, bytes };
      }
      if (typeof k.fromFile === 'string') return { key, fromFile: k.fromFile };
      if (typeof k.value === 'string') return { key, value: k.value };
      if (isRecord(k.copyFrom)) {
        const c = k.copyFrom;
        return { key, copyFrom: { namespace: str(c, 'namespace', `${kw}.copyFrom`), name: str(c, 'name', `${kw}.copyFrom`), key: str(c, 'key', `${kw}.copyFrom`) } };
      }
      throw new InputError(`${kw}: needs "generate", "copyFrom", "value" or "fromFile"`);
    });
    for (const k of keys) {
      if ('from' in k && !keys.some((o) => o.key === k.from && !('from' in o))) {
        throw new InputError(`${where}: key ${k.key} hashes "${k.from}", which is not a key of this secret`);
      }
    }
    const spec: SecretSpec = { namespace, name, keys };
    if (entry.labels !== undefined) {
      if (!isRecord(entry.labels) || !Object.values(entry.labels).every((v) => typeof v === 'string')) {
        throw new InputError(`${where}: "labels" must map strings to strings`);
      }
      spec.labels = entry.labels as Record<string, string>;
    }
    if (typeof entry.type === 'string') spec.type = entry.type;
    return spec;
  });
  const ids = new Set<string>();
  for (const s of specs) {
    const id = `${s.namespace}/${s.name}`;
    if (ids.has(id)) throw new InputError(`${file}: secret ${id} appears twice`);
    ids.add(id);
  }
  checkSecretReferences(specs, file);
  return specs;
}

/** copyFrom must name a key of a Secret listed earlier (values are resolved in file order). */
export function checkSecretReferences(specs: readonly SecretSpec[], file = 'secrets.json'): void {
  specs.forEach((spec, i) => {
    for (const k of spec.keys) {
      if (!('copyFrom' in k)) continue;
      const src = specs.slice(0, i).find((s) => s.namespace === k.copyFrom.namespace && s.name === k.copyFrom.name);
      if (!src?.keys.some((o) => o.key === k.copyFrom.key)) {
        throw new InputError(
          `${file}: ${spec.namespace}/${spec.name} ${k.key} copies ${k.copyFrom.namespace}/${k.copyFrom.name} ${k.copyFrom.key}, which is not a key of a secret listed before it`,
        );
      }
    }
  });
}

/** `[registry[:port]/]path:tag`, lower-case path (Docker's rule), the tag as COURSEOPS_IMAGE_TAG allows it. */
const IMAGE_REF = /^[a-z0-9][a-z0-9._/:-]*:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

const dnsName = z.string().regex(DNS_SUBDOMAIN, 'must be a DNS name').refine((d) => d.includes('.'), 'must be a DNS name');
const imageRef = z.string().regex(IMAGE_REF, 'must be an image reference with a tag');
const serviceName = z.string().regex(DNS_LABEL, 'must be a DNS label');
const objectName = z.string().regex(DNS_SUBDOMAIN, 'must be a Kubernetes object name');
const clusterFacts = z.object({
  profile: z.enum(['kind', 'cluster'], { error: 'must be "kind" or "cluster"' }),
  dnsRewrite: z.boolean({ error: 'must be true or false' }),
  exposure: z.enum(['hostPort', 'loadBalancer'], { error: 'must be "hostPort" or "loadBalancer"' }),
  storageClass: objectName.optional(),
  issuer: z.object({ name: objectName, existing: z.boolean({ error: 'must be true or false' }) }),
});
const servicesFileSchema = z
  .object({
    domain: dnsName,
    hosts: z.record(z.enum(Object.keys(hostPrefixes) as [HostKey, ...HostKey[]]), dnsName),
    cluster: clusterFacts,
    services: z
      .array(
        z
          .object({
            name: serviceName,
            namespace: serviceName,
            port: z.number().int('must be a port number').min(1, 'must be a port number').max(65535, 'must be a port number'),
            image: imageRef,
            ingress: z.object({ host: dnsName, path: z.string().startsWith('/', 'must start with /') }).optional(),
            calls: z.array(z.object({ service: serviceName, soft: z.boolean() })),
            probes: z.array(serviceName),
            database: z.enum(['in-cluster', 'external', 'none'], { error: 'must be "in-cluster", "external" or "none"' }),
            databaseSecret: z.object({ name: objectName, key: z.string().regex(/^[-._a-zA-Z0-9]+$/, 'must be a Secret key') }).optional(),
          })
          .refine((s) => (s.database === 'external') === (s.databaseSecret !== undefined), {
            path: ['databaseSecret'],
            message: 'must be given exactly when database is "external" (the Secret with its DATABASE_URL)',
          }),
      )
      .min(1, 'must be a non-empty array'),
    backupImage: imageRef.optional(),
    postgresImage: imageRef.optional(),
  })
  .refine((f) => f.backupImage === undefined || f.postgresImage !== undefined, {
    path: ['postgresImage'],
    message: 'must be given with backupImage (the backup image is built on it)',
  })
  .refine((f) => f.backupImage !== undefined || !f.services.some((s) => s.database === 'in-cluster'), {
    path: ['backupImage'],
    message: 'must be given when a service has an in-cluster database (its backup CronJob runs it)',
  })
  .refine(
    (f) => f.services.every((s) => [...s.calls.map((c) => c.service), ...s.probes].every((other) => f.services.some((o) => o.name === other))),
    { path: ['services'], message: 'name a service that calls or probes one not declared' },
  );

/** dist/services.json (cdk8s/src/services-file.ts): refused, naming the field, when it is not what the synth writes. */
export function parseServicesFile(data: unknown, file = 'services.json'): ServicesFile {
  const parsed = servicesFileSchema.safeParse(data);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const where = issue.path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('');
  throw new InputError(`${file}: ${where || 'the file'} ${issue.message}`);
}

/**
 * dist/hosts.json: every host must lie under `suffix`. The kind profile's hosts go to /etc/hosts as 127.0.0.1, so
 * they must be under .test (reserved, never public DNS); the cluster profile's are the real domain's.
 */
export function parseHosts(data: unknown, file = 'hosts.json', suffix = 'test'): string[] {
  if (!Array.isArray(data)) throw new InputError(`${file}: expected an array of hostnames`);
  const hosts = data.map((entry, i) => {
    // Tolerate objects such as {"host": "…"} in case the synth grows richer entries.
    const host = typeof entry === 'string' ? entry : isRecord(entry) && typeof entry.host === 'string' ? entry.host : undefined;
    if (!host || !DNS_SUBDOMAIN.test(host)) throw new InputError(`${file}[${i}]: expected a hostname`);
    if (!host.endsWith(`.${suffix}`)) throw new InputError(`${file}[${i}]: ${host} is not under .${suffix}`);
    return host;
  });
  return [...new Set(hosts)];
}

/** The Secret of the first cert-manager Certificate with `isCA: true` in a manifest file. */
export function findCaSecret(text: string): { namespace: string; name: string } | undefined {
  for (const doc of parseAllDocuments(text)) {
    const value: unknown = doc.toJS();
    const items = isRecord(value) && Array.isArray(value.items) ? value.items : [value];
    for (const item of items) {
      if (!isRecord(item) || item.kind !== 'Certificate' || typeof item.apiVersion !== 'string' || !item.apiVersion.startsWith('cert-manager.io/')) continue;
      const spec = isRecord(item.spec) ? item.spec : {};
      const meta = isRecord(item.metadata) ? item.metadata : {};
      if (spec.isCA === true && typeof spec.secretName === 'string') {
        return { namespace: typeof meta.namespace === 'string' ? meta.namespace : 'default', name: spec.secretName };
      }
    }
  }
  return undefined;
}

/** The objects of one manifest file (kind, name, namespace), for the waits. */
export function parseManifestObjects(text: string, file: string): ObjectRef[] {
  const objects: ObjectRef[] = [];
  for (const doc of parseAllDocuments(text)) {
    if ('errors' in doc && doc.errors.length > 0) {
      throw new InputError(`${file}: ${doc.errors[0]!.message}`);
    }
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    const items = isRecord(value) && typeof value.kind === 'string' && value.kind.endsWith('List') && Array.isArray(value.items) ? value.items : [value];
    for (const item of items) {
      if (!isRecord(item) || !isRecord(item.metadata)) continue;
      const { apiVersion, kind } = item;
      const { name, namespace } = item.metadata;
      if (typeof apiVersion !== 'string' || typeof kind !== 'string' || typeof name !== 'string') continue;
      objects.push({ apiVersion, kind, name, ...(typeof namespace === 'string' ? { namespace } : {}) });
    }
  }
  return objects;
}

/** The emails of `config.staticPasswords` in the values of the dex chart's release, if any. */
export function dexUsers(distDir: string, releases: readonly Release[]): string[] {
  const dex = releases.find((r) => r.chart === 'dex');
  if (!dex) return [];
  try {
    const values = parse(readFileSync(path.join(distDir, dex.valuesFile), 'utf8')) as { config?: { staticPasswords?: { email?: unknown }[] } } | null;
    return (values?.config?.staticPasswords ?? []).map((u) => u.email).filter((e): e is string => typeof e === 'string');
  } catch {
    return [];
  }
}

/** A chart's release in dist/helm/releases.json with the values file it names, parsed (what `helm install -f` gets). */
export function releaseWithValues<V>(distDir: string, chart: string): Release & { values: V } {
  const file = path.join(distDir, 'helm/releases.json');
  const release = parseReleases(readJson(file), file).find((r) => r.chart === chart);
  if (!release) throw new InputError(`${file} has no ${chart} release`);
  return { ...release, values: parse(readFileSync(path.join(distDir, release.valuesFile), 'utf8')) as V };
}

/** Whether dist/ has everything `up` reads (otherwise `up` runs the synth first). */
export function distComplete(distDir: string): boolean {
  return ['helm/releases.json', 'secrets.json', 'hosts.json', 'services.json', 'manifests'].every((p) => existsSync(path.join(distDir, p)));
}

export function loadDist(distDir: string): DistInputs {
  const releases = parseReleases(readJson(path.join(distDir, 'helm/releases.json')), path.join(distDir, 'helm/releases.json'));
  for (const r of releases) {
    const values = path.join(distDir, r.valuesFile);
    if (!existsSync(values)) throw new InputError(`${values} (values of release ${r.name}) is missing: run \`npm run synth\``);
  }
  const secrets = parseSecrets(readJson(path.join(distDir, 'secrets.json')), path.join(distDir, 'secrets.json'));
  const declared = parseServicesFile(readJson(path.join(distDir, 'services.json')), path.join(distDir, 'services.json'));
  const hostSuffix = declared.cluster.profile === 'kind' ? 'test' : declared.domain;
  const hosts = parseHosts(readJson(path.join(distDir, 'hosts.json')), path.join(distDir, 'hosts.json'), hostSuffix);
  const manifestDir = path.join(distDir, 'manifests');
  if (!existsSync(manifestDir)) throw new InputError(`${manifestDir} is missing: run \`npm run synth\``);
  let caSecret: { namespace: string; name: string } | undefined;
  const manifests = readdirSync(manifestDir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((f) => {
      const file = path.join(manifestDir, f);
      const text = readFileSync(file, 'utf8');
      caSecret ??= findCaSecret(text);
      return { path: file, objects: parseManifestObjects(text, file) };
    });
  return { distDir, releases, manifests, secrets, hosts, declared, dexUsers: dexUsers(distDir, releases), ...(caSecret ? { caSecret } : {}) };
}
