/**
 * CoreDNS rewrite so pods resolve the platform's hostnames (*.courseops.test, e.g. the Dex issuer
 * https://dex.courseops.test) to Traefik's Service (the Gateway's data plane), the same place the browser reaches
 * through 127.0.0.1 and /etc/hosts. Without it, Grafana, oauth2-proxy and the Kubernetes clients of the
 * OIDC issuer cannot fetch https://dex.courseops.test/.well-known/openid-configuration from inside.
 *
 * The change is one line in the `.:53 { … }` server block of the kube-system/coredns ConfigMap:
 *
 *   rewrite name regex ^(.+\.)?courseops\.test\.?$ traefik.traefik.svc.cluster.local answer auto
 *
 * The Service maps 80/443 to Traefik's web/websecure entry points (8000/8443), where the Gateway's
 * listeners are, so an in-cluster https://dex.courseops.test/ gets the same listener and certificate.
 *
 * `answer auto` rewrites the answer back to the name asked for, so resolvers do not reject it. The
 * position in the block does not matter (CoreDNS orders plugins at build time; rewrite runs before
 * kubernetes). kind's Corefile has the `reload` plugin; `up` also restarts CoreDNS so it applies at once.
 * The patch is applied server-side with its own field manager and is idempotent (a marker comment).
 */
import { FIELD_MANAGER, KUBE_CONTEXT, kubectlIn, type Cmd } from './commands.js';
import type { Release } from './inputs.js';
import { serviceHost } from '../../cdk8s/src/cluster-dns.js';

/**
 * Unchanged since the ingress-nginx days on purpose: a cluster brought up before keeps one marker, and
 * addRewrite replaces the rule under it (old Service -> Traefik's) instead of adding a second rewrite.
 */
export const COREDNS_MARKER = '# courseops: *.courseops.test -> ingress controller';

/** Helm's usual fullname rule: the release name when it contains the chart name, else "<release>-<chart>". */
export function chartFullname(release: Pick<Release, 'name' | 'chart'>): string {
  const full = release.name.includes(release.chart) ? release.name : `${release.name}-${release.chart}`;
  return full.slice(0, 63).replace(/-+$/, '');
}

/**
 * Traefik's Service from the releases (default traefik/traefik): the traefik chart names it by its fullname
 * (templates/_service.tpl), the release name when that contains "traefik".
 */
export function gatewayService(releases: readonly Release[]): { namespace: string; name: string } {
  const release = releases.find((r) => r.chart === 'traefik');
  if (!release) return { namespace: 'traefik', name: 'traefik' };
  return { namespace: release.namespace, name: chartFullname(release) };
}

/** The rule for the platform's domain (dist/services.json's, COURSEOPS_DOMAIN at synth time). */
export function rewriteRule(target: { namespace: string; name: string }, domain: string): string {
  const escaped = domain.replaceAll('.', '\\.');
  return `rewrite name regex ^(.+\\.)?${escaped}\\.?$ ${serviceHost(target.name, target.namespace)} answer auto`;
}

/**
 * Adds the rule (with the marker comment) to the `.:53` server block. Returns the Corefile unchanged when
 * the marker is already there (the rule line is replaced if the target changed).
 */
export function addRewrite(corefile: string, rule: string): { corefile: string; changed: boolean } {
  const lines = corefile.split('\n');
  const marker = lines.findIndex((l) => l.trim() === COREDNS_MARKER);
  if (marker >= 0) {
    const existing = lines[marker + 1];
    if (existing !== undefined && existing.trim() === rule) return { corefile, changed: false };
    if (existing !== undefined && existing.trim().startsWith('rewrite ')) {
      const indent = /^\s*/.exec(existing)?.[0] ?? '    ';
      lines[marker + 1] = indent + rule;
      return { corefile: lines.join('\n'), changed: true };
    }
  }
  const block = lines.findIndex((l) => /^\.:53\s*\{\s*$/.test(l.trim()));
  if (block < 0) throw new Error('the CoreDNS Corefile has no ".:53 {" server block to add the rewrite to');
  const indent = /^\s*/.exec(lines[block + 1] ?? '')?.[0] || '    ';
  lines.splice(block + 1, 0, indent + COREDNS_MARKER, indent + rule);
  return { corefile: lines.join('\n'), changed: true };
}

export function corednsConfigMap(corefile: string): object {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'coredns', namespace: 'kube-system' },
    data: { Corefile: corefile },
  };
}

/** The commands of the CoreDNS step (the last three only run when the Corefile changes). */
export function corednsCommands(rule: string, context = KUBE_CONTEXT): Cmd[] {
  const kubectl = (...args: string[]) => kubectlIn(context, ...args);
  return [
    { argv: kubectl('-n', 'kube-system', 'get', 'configmap', 'coredns', '-o', 'jsonpath={.data.Corefile}') },
    {
      argv: kubectl('apply', '--server-side', '--force-conflicts', `--field-manager=${FIELD_MANAGER}`, '-f', '-'),
      stdin: { kind: 'manifest', describe: `ConfigMap kube-system/coredns (Corefile + "${rule}")` },
      note: 'only if the rule is missing',
    },
    { argv: kubectl('-n', 'kube-system', 'rollout', 'restart', 'deployment/coredns'), note: 'only if changed' },
    { argv: kubectl('-n', 'kube-system', 'rollout', 'status', 'deployment/coredns', '--timeout=2m'), note: 'only if changed' },
  ];
}
