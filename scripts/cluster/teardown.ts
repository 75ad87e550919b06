/**
 * `npm run down -- --context NAME [--purge]` as data: removes what `up --context NAME` installed from dist/, and
 * nothing else, in the reverse order of the bring-up:
 *   1. the objects of dist/manifests, last file first and last object first (while the operators that handle
 *      their finalizers still run), except PersistentVolumeClaims (kept unless --purge) and Namespaces (step 4);
 *   2. the Helm releases, last installed first;
 *   3. the Secrets `up` generated (dist/secrets.json);
 *   4. the namespaces dist/manifests declares, each only when it no longer holds a PersistentVolumeClaim
 *      (--purge deletes those first) and holds no database Secret the user created (an external database's).
 * It keeps, and says so: the PersistentVolumeClaims (the databases', backups', Elasticsearch's, Prometheus's, listed
 * by name when it runs) and their namespaces unless --purge; the Gateway API CRDs (other Gateways in the cluster
 * may use them) and the CRDs the charts keep on uninstall; the user's database Secrets; the pushed images.
 * Every delete tolerates what is already gone, so running it again finishes what a failed run left.
 */
import { GATEWAY_API } from '../../cdk8s/src/gateway/api.js';
import { kubectlIn, renderCommand, type Cmd } from './commands.js';
import type { DistInputs, ObjectRef } from './inputs.js';
import type { Step } from './plan.js';

export interface TeardownInputs {
  dist: DistInputs;
  context: string;
  purge: boolean;
}

/** A kind whose CRD is already gone (its chart was uninstalled by an earlier run): nothing of it is left to delete. */
const KIND_GONE = /the server doesn't have a resource type|no matches for kind/;
/** `helm uninstall` of a release that is not there (an earlier run removed it). */
const RELEASE_GONE = /release: not found/;
export const NAMESPACE_TIMEOUT = '10m';

/** kubectl's unambiguous name of a kind: `deployment.v1.apps`, `certificate.v1.cert-manager.io`; core kinds bare. */
export function resourceOf(obj: Pick<ObjectRef, 'apiVersion' | 'kind'>): string {
  const [group, version] = obj.apiVersion.includes('/') ? obj.apiVersion.split('/') : ['', obj.apiVersion];
  return group ? `${obj.kind.toLowerCase()}.${version}.${group}` : obj.kind.toLowerCase();
}

/**
 * The deletes of the manifests' objects, last first; consecutive objects of one kind and namespace share a command.
 * Namespaces are left to the namespaces step; PersistentVolumeClaims too unless `purge`.
 */
export function objectDeleteCommands(manifests: DistInputs['manifests'], context: string, purge: boolean): Cmd[] {
  const objects = manifests
    .flatMap((m) => m.objects)
    .reverse()
    .filter((o) => !(o.apiVersion === 'v1' && o.kind === 'Namespace') && (purge || !(o.apiVersion === 'v1' && o.kind === 'PersistentVolumeClaim')));
  const groups: { resource: string; namespace?: string; names: string[] }[] = [];
  for (const o of objects) {
    const resource = resourceOf(o);
    const last = groups.at(-1);
    if (last && last.resource === resource && last.namespace === o.namespace) {
      if (!last.names.includes(o.name)) last.names.push(o.name);
    } else {
      groups.push({ resource, ...(o.namespace ? { namespace: o.namespace } : {}), names: [o.name] });
    }
  }
  return groups.map((g) => ({
    argv: kubectlIn(context, 'delete', g.resource, ...g.names, ...(g.namespace ? ['-n', g.namespace] : []), '--ignore-not-found'),
    goneWhen: KIND_GONE,
  }));
}

export function helmUninstallCommand(release: { name: string; namespace: string }, context: string): Cmd {
  return { argv: ['helm', 'uninstall', release.name, '-n', release.namespace, '--wait', '--timeout', '10m', '--kube-context', context], goneWhen: RELEASE_GONE };
}

/** The generated Secrets, one command per namespace. */
export function secretDeleteCommands(secrets: DistInputs['secrets'], context: string): Cmd[] {
  const byNamespace = new Map<string, string[]>();
  for (const s of secrets) byNamespace.set(s.namespace, [...(byNamespace.get(s.namespace) ?? []), s.name]);
  return [...byNamespace].map(([ns, names]) => ({ argv: kubectlIn(context, 'delete', 'secret', ...names, '-n', ns, '--ignore-not-found') }));
}

export function claimsCommand(namespace: string, context: string): Cmd {
  return { argv: kubectlIn(context, 'get', 'persistentvolumeclaims', '-n', namespace, '-o', 'json') };
}

export function purgeClaimsCommand(namespace: string, context: string): Cmd {
  return { argv: kubectlIn(context, 'delete', 'persistentvolumeclaims', '--all', '-n', namespace, '--ignore-not-found', `--timeout=${NAMESPACE_TIMEOUT}`) };
}

export function namespaceDeleteCommand(namespace: string, context: string): Cmd {
  return { argv: kubectlIn(context, 'delete', 'namespace', namespace, '--ignore-not-found', `--timeout=${NAMESPACE_TIMEOUT}`) };
}

export interface Claim {
  name: string;
  storage?: string;
  /** What it belongs to, from its labels (app.kubernetes.io/instance, else name). */
  owner?: string;
}

/** The claims of `kubectl get persistentvolumeclaims -o json`. */
export function parseClaims(stdout: string): Claim[] {
  const list = JSON.parse(stdout) as {
    items?: { metadata?: { name?: string; labels?: Record<string, string> }; spec?: { resources?: { requests?: { storage?: string } } }; status?: { capacity?: { storage?: string } } }[];
  };
  return (list.items ?? []).map((item) => {
    const labels = item.metadata?.labels ?? {};
    const owner = labels['app.kubernetes.io/instance'] ?? labels['app.kubernetes.io/name'];
    const storage = item.status?.capacity?.storage ?? item.spec?.resources?.requests?.storage;
    return { name: item.metadata?.name ?? '?', ...(storage ? { storage } : {}), ...(owner ? { owner } : {}) };
  });
}

export function describeClaim(c: Claim): string {
  const details = [c.storage, c.owner].filter(Boolean).join(', ');
  return details ? `${c.name} (${details})` : c.name;
}

export interface NamespaceDecision {
  deleteClaims: boolean;
  deleteNamespace: boolean;
  /** What is kept in it and why; empty when nothing is. */
  kept: string[];
}

/** What down does with one of the platform's namespaces, given the claims it holds now. */
export function decideNamespace(namespace: string, claims: readonly Claim[], purge: boolean, userSecrets: readonly string[]): NamespaceDecision {
  const kept: string[] = [];
  if (claims.length > 0 && !purge) {
    kept.push(`namespace ${namespace} and its PersistentVolumeClaims ${claims.map(describeClaim).join(', ')} (\`--purge\` deletes them)`);
  }
  if (userSecrets.length > 0) {
    kept.push(`namespace ${namespace}: it holds the database Secret${userSecrets.length > 1 ? 's' : ''} you created (${userSecrets.map((n) => `${namespace}/${n}`).join(', ')}); delete it yourself when you no longer need ${userSecrets.length > 1 ? 'them' : 'it'}`);
  }
  return { deleteClaims: purge && claims.length > 0, deleteNamespace: kept.length === 0, kept };
}

/** The namespaces dist/manifests declares, last first, each with the user's database Secrets in it. */
export function platformNamespaces(dist: DistInputs): { name: string; userSecrets: string[] }[] {
  const declared = dist.manifests.flatMap((m) => m.objects).filter((o) => o.apiVersion === 'v1' && o.kind === 'Namespace').map((o) => o.name);
  return [...new Set(declared)].reverse().map((name) => ({
    name,
    userSecrets: dist.declared.services.filter((s) => s.namespace === name && s.databaseSecret).map((s) => s.databaseSecret!.name),
  }));
}

/** What down keeps by design (the closing text; what it finds to keep while it runs is added then). */
export function keptLines(dist: DistInputs, context: string, purge: boolean): string[] {
  const userSecrets = dist.declared.services.filter((s) => s.databaseSecret).map((s) => `${s.namespace}/${s.databaseSecret!.name}`);
  const lines: string[] = [];
  lines.push(
    `  - the Gateway API CRDs (${GATEWAY_API.version}): other Gateways in the cluster may use them, and deleting a CRD deletes every object of it; remove them yourself with`,
    `      ${renderCommand({ argv: kubectlIn(context, 'delete', '-f', GATEWAY_API.installUrl) })}`,
    `  - the CRDs the charts keep on uninstall (Helm never deletes a chart's crds/; cert-manager keeps its own): ${renderCommand({ argv: kubectlIn(context, 'get', 'customresourcedefinitions') })}`,
  );
  if (!purge) {
    lines.push(
      "  - the PersistentVolumeClaims (the databases', backups', Elasticsearch's, Prometheus's) and the namespaces that hold them, listed by name below when it runs;",
      `      \`npm run down -- --context ${context} --purge\` deletes them (and the data on them)`,
    );
  }
  if (userSecrets.length > 0) lines.push(`  - the database Secrets you created (${userSecrets.join(', ')}) and their namespaces; your external databases are not touched`);
  const declared = new Set(platformNamespaces(dist).map((n) => n.name));
  const undeclared = [...new Set([...dist.releases.map((r) => r.namespace), ...dist.secrets.map((s) => s.namespace)])].filter((ns) => !declared.has(ns));
  if (undeclared.length > 0) {
    lines.push(`  - the namespaces ${undeclared.join(', ')}: used by the releases or secrets but not declared in dist/manifests, so they may predate up`);
  }
  lines.push('  - the images `up` pushed to the registry');
  return lines;
}

export function buildTeardownPlan({ dist, context, purge }: TeardownInputs): Step[] {
  const steps: Step[] = [];
  steps.push({ id: 'prerequisites', type: 'prerequisites', title: 'Check prerequisites (kubectl, helm)', tools: ['kubectl', 'helm'], commands: [{ argv: ['helm', 'version', '--short'] }] });
  steps.push({ id: 'context', type: 'commands', title: `Check that context ${context} answers`, commands: [{ argv: kubectlIn(context, 'get', '--raw', '/version'), timeoutMs: 60_000 }] });
  const objects = objectDeleteCommands(dist.manifests, context, purge);
  steps.push({
    id: 'objects',
    type: 'commands',
    title: `Delete the objects of ${dist.distDir}/manifests, last first (${purge ? 'Namespaces last' : 'PersistentVolumeClaims kept, Namespaces last'})`,
    commands: objects,
  });
  const releases = [...dist.releases].reverse();
  steps.push({ id: 'helm', type: 'commands', title: `Uninstall the Helm releases, last installed first (${releases.map((r) => r.name).join(', ')})`, commands: releases.map((r) => helmUninstallCommand(r, context)) });
  steps.push({ id: 'secrets', type: 'commands', title: `Delete the generated secrets (${dist.secrets.length})`, commands: secretDeleteCommands(dist.secrets, context) });
  const namespaces = platformNamespaces(dist);
  steps.push({
    id: 'namespaces',
    type: 'namespaces',
    title: purge ? "Delete the platform's namespaces with their PersistentVolumeClaims" : "Delete the platform's namespaces that hold no PersistentVolumeClaim",
    context,
    purge,
    namespaces,
    commands: namespaces.flatMap(({ name, userSecrets }) => [
      { ...claimsCommand(name, context), note: purge ? 'the claims to delete' : 'the claims to keep' },
      ...(purge ? [{ ...purgeClaimsCommand(name, context), note: 'only if it holds claims' }] : []),
      ...(userSecrets.length > 0
        ? []
        : [{ ...namespaceDeleteCommand(name, context), note: purge ? 'deleted with everything left in it' : 'only if it holds no claim' }]),
    ]),
  });
  steps.push({ id: 'summary', type: 'summary', title: 'What down keeps', lines: keptLines(dist, context, purge) });
  return steps;
}
