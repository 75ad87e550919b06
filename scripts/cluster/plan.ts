/**
 * The bring-up as data: a pure function from the synthesized inputs to an ordered list of steps. The dry
 * run prints it; the runner (run.ts) executes it. Keeping it pure is what makes the plan testable here,
 * on a machine without Docker, kind, kubectl or helm.
 *
 * Two targets (target.ts): without one, the kind cluster `up` creates (images loaded into kind); with
 * `--context NAME`, an existing cluster: no kind at all, the cluster checks (cluster-checks.ts) before any
 * change, images pushed, and every kubectl command carries `--context NAME`, every helm command
 * `--kube-context NAME`. The CoreDNS rewrite is a step only when dist/services.json asks for it (dnsRewrite).
 */
import path from 'node:path';
import { CLUSTER_NAME, KUBE_CONTEXT, kubectlIn, renderCommand, serviceImageBuild, type Cmd } from './commands.js';
import { GATEWAY_API } from '../../cdk8s/src/gateway/api.js';
import { clusterChecks, clusterIssuerCheck, type ClusterCheck } from './cluster-checks.js';
import { Refusal } from './cli.js';
import { corednsCommands, gatewayService, rewriteRule } from './coredns.js';
import type { ServicesFile } from '../../cdk8s/src/services-file.js';
import type { DistInputs, ObjectRef, Release, SecretKeySpec, SecretSpec } from './inputs.js';
import { TOOLS } from './prerequisites.js';
import { secretStepCommands } from './secrets.js';
import { declaredImages, registryMismatch, registryOf, targetRefusal, type ClusterTarget } from './target.js';

export type Step =
  | { id: 'prerequisites'; type: 'prerequisites'; title: string; tools: string[]; commands: Cmd[] }
  | {
      id: string;
      type: 'commands';
      title: string;
      commands: Cmd[];
      /** Skip the commands when `probe` prints a line equal to `line`. */
      skipIf?: { probe: Cmd; line: string; message: string };
    }
  | { id: 'coredns'; type: 'coredns'; title: string; rule: string; commands: Cmd[] }
  | { id: 'secrets'; type: 'secrets'; title: string; context: string; secrets: SecretSpec[]; commands: Cmd[] }
  /** Checks run for real (cluster-checks.ts); every problem is reported, then the run stops. */
  | { id: string; type: 'checks'; title: string; context: string; beforeChanges: boolean; checks: ClusterCheck[]; commands: Cmd[] }
  /**
   * `down --context`: per namespace, the PersistentVolumeClaims it holds are listed when it runs; it is deleted unless
   * it still holds some (without --purge; with it they are deleted first) or a Secret the user created (teardown.ts).
   */
  | { id: string; type: 'namespaces'; title: string; context: string; purge: boolean; namespaces: { name: string; userSecrets: string[] }[]; commands: Cmd[] }
  | { id: 'summary'; type: 'summary'; title: string; lines: string[] }
  | { id: string; type: 'note'; title: string; lines: string[] };

export interface PlanInputs {
  /** The synthesized inputs; undefined when dist/ is missing (dry run before the first synth). */
  dist?: DistInputs;
  /** Whether to run `npm run synth` first. */
  synth: boolean;
  /** Path of kind-config.yaml as passed to kind. */
  kindConfig?: string;
  /** BASE_IMAGE build argument for the service images (the Dockerfiles' default when unset). */
  baseImage?: string;
  /** `--context NAME [--registry R]`: an existing cluster; absent: the kind cluster. */
  target?: ClusterTarget;
}

export const HELM_TIMEOUT = '10m';
export const WAIT_TIMEOUT = '10m';
export const ELASTIC_WAIT_TIMEOUT = '15m';

/**
 * Builds the images the manifests name (dist/services.json), tag for tag, and loads them into kind, or (an existing
 * cluster) pushes them to where their names point: the nodes pull them from there.
 */
function imagesStep(declared: ServicesFile, baseImage: string | undefined, target: ClusterTarget | undefined): Step {
  const commands: Cmd[] = declared.services.map((s) => serviceImageBuild(s, s.image, baseImage));
  if (declared.backupImage) {
    // The backup image (CronJobs of cdk8s/src/data/backup.ts): postgres plus the node binary of the same Node.js image.
    const args = ['--build-arg', `POSTGRES_IMAGE=${declared.postgresImage}`, ...(baseImage ? ['--build-arg', `NODE_IMAGE=${baseImage}`] : [])];
    commands.push({ argv: ['docker', 'build', '-f', 'scripts/backup/Dockerfile', ...args, '-t', declared.backupImage, '.'] });
  }
  const images = declaredImages(declared);
  if (target) {
    commands.push(...images.map((image): Cmd => ({ argv: ['docker', 'push', image] })));
    const registries = [...new Set(images.map(registryOf))].join(', ');
    return { id: 'images', type: 'commands', title: `Build the service images and push them (${registries})`, commands };
  }
  commands.push(...images.map((image): Cmd => ({ argv: ['kind', 'load', 'docker-image', image, '--name', CLUSTER_NAME] })));
  return { id: 'images', type: 'commands', title: 'Build the service images and load them into kind', commands };
}

export function helmCommand(release: Release, distDir: string, context = KUBE_CONTEXT): Cmd {
  const oci = release.repo.startsWith('oci://');
  const argv = ['helm', 'upgrade', '--install', release.name, oci ? `${release.repo}/${release.chart}` : release.chart];
  if (!oci) argv.push('--repo', release.repo);
  argv.push('--version', release.version, '-n', release.namespace);
  if (release.createNamespace !== false) argv.push('--create-namespace');
  argv.push('-f', path.join(distDir, release.valuesFile), '--wait', '--timeout', release.timeout ?? HELM_TIMEOUT, '--kube-context', context);
  return { argv };
}

export function applyCommand(file: string, context = KUBE_CONTEXT): Cmd {
  // Retries: right after a chart install its admission webhook (cert-manager, ECK) may
  // still be starting and reject the first request.
  return { argv: kubectlIn(context, 'apply', '--server-side', '--force-conflicts', '-f', file), retries: 5 };
}

/** The pinned Gateway API release's standard-install.yaml, applied server-side (cdk8s/src/gateway/api.ts pins it). */
export function gatewayApiCommand(context = KUBE_CONTEXT): Cmd {
  return { argv: kubectlIn(context, 'apply', '--server-side', '--force-conflicts', '-f', GATEWAY_API.installUrl), retries: 3 };
}

interface WaitKind {
  kind: string;
  group: string;
  /** resource.group as kubectl accepts it, unambiguous even when several CRDs share a short name. */
  resource: string;
  how: 'available' | 'rollout-status' | 'ready' | 'healthy' | 'green' | 'programmed';
}

const WAIT_KINDS: WaitKind[] = [
  { kind: 'Certificate', group: 'cert-manager.io', resource: 'certificates.cert-manager.io', how: 'ready' },
  { kind: 'Deployment', group: 'apps', resource: 'deployment', how: 'available' },
  { kind: 'StatefulSet', group: 'apps', resource: 'statefulset', how: 'rollout-status' },
  { kind: 'DaemonSet', group: 'apps', resource: 'daemonset', how: 'rollout-status' },
  { kind: 'Rollout', group: 'argoproj.io', resource: 'rollouts.argoproj.io', how: 'healthy' },
  { kind: 'Elasticsearch', group: 'elasticsearch.k8s.elastic.co', resource: 'elasticsearches.elasticsearch.k8s.elastic.co', how: 'green' },
  { kind: 'Kibana', group: 'kibana.k8s.elastic.co', resource: 'kibanas.kibana.k8s.elastic.co', how: 'green' },
  { kind: 'Logstash', group: 'logstash.k8s.elastic.co', resource: 'logstashes.logstash.k8s.elastic.co', how: 'green' },
  { kind: 'Beat', group: 'beat.k8s.elastic.co', resource: 'beats.beat.k8s.elastic.co', how: 'green' },
  // Traefik accepted the Gateway and serves its listeners (it reports Programmed once it has loaded them).
  { kind: 'Gateway', group: 'gateway.networking.k8s.io', resource: 'gateways.gateway.networking.k8s.io', how: 'programmed' },
];

function groupOf(apiVersion: string): string {
  return apiVersion.includes('/') ? apiVersion.split('/')[0]! : '';
}

/**
 * Waits for what the manifests create, namespace by namespace: Certificates Ready, Deployments Available,
 * StatefulSets and DaemonSets rolled out, Argo Rollouts Healthy (a jsonpath wait, no kubectl plugin),
 * Elastic resources green, the Gateway Programmed. Charts were already waited for by `helm --wait`.
 */
export function waitCommands(manifests: readonly { objects: ObjectRef[] }[], context = KUBE_CONTEXT): Cmd[] {
  const kubectl = (...args: string[]) => kubectlIn(context, ...args);
  const byNamespace = new Map<string, Map<WaitKind, string[]>>();
  for (const obj of manifests.flatMap((m) => m.objects)) {
    const wk = WAIT_KINDS.find((w) => w.kind === obj.kind && w.group === groupOf(obj.apiVersion));
    if (!wk) continue;
    const ns = obj.namespace ?? 'default';
    const kinds = byNamespace.get(ns) ?? new Map<WaitKind, string[]>();
    byNamespace.set(ns, kinds);
    const names = kinds.get(wk) ?? [];
    if (!names.includes(obj.name)) names.push(obj.name);
    kinds.set(wk, names);
  }
  const cmds: Cmd[] = [];
  for (const wk of WAIT_KINDS) {
    for (const [ns, kinds] of byNamespace) {
      const names = kinds.get(wk);
      if (!names) continue;
      const refs = names.map((n) => `${wk.resource}/${n}`);
      switch (wk.how) {
        case 'rollout-status':
          for (const ref of refs) cmds.push({ argv: kubectl('rollout', 'status', ref, '-n', ns, `--timeout=${WAIT_TIMEOUT}`) });
          break;
        case 'available':
          cmds.push({ argv: kubectl('wait', '--for=condition=Available', ...refs, '-n', ns, `--timeout=${WAIT_TIMEOUT}`) });
          break;
        case 'ready':
          cmds.push({ argv: kubectl('wait', '--for=condition=Ready', ...refs, '-n', ns, `--timeout=${WAIT_TIMEOUT}`) });
          break;
        case 'healthy':
          cmds.push({ argv: kubectl('wait', '--for=jsonpath={.status.phase}=Healthy', ...refs, '-n', ns, `--timeout=${WAIT_TIMEOUT}`) });
          break;
        case 'programmed':
          cmds.push({ argv: kubectl('wait', '--for=condition=Programmed', ...refs, '-n', ns, `--timeout=${WAIT_TIMEOUT}`) });
          break;
        case 'green':
          cmds.push({ argv: kubectl('wait', '--for=jsonpath={.status.health}=green', ...refs, '-n', ns, `--timeout=${ELASTIC_WAIT_TIMEOUT}`) });
          break;
      }
    }
  }
  return cmds;
}

/** kubectl jsonpath for a data key (dots escaped). */
function dataPath(key: string): string {
  return `{.data.${key.replaceAll('.', '\\.')}}`;
}

export function readSecretCommand(namespace: string, name: string, key: string, context = KUBE_CONTEXT): string {
  return `${renderCommand({ argv: kubectlIn(context, '-n', namespace, 'get', 'secret', name, '-o', `jsonpath=${dataPath(key)}`) })} | base64 -d; echo`;
}

/** kubectl command printing the root CA (base64): from the synthesized CA Certificate, else by name. */
export function caCommand(ca: { namespace: string; name: string } | undefined, context = KUBE_CONTEXT): string {
  const argv = ca
    ? kubectlIn(context, '-n', ca.namespace, 'get', 'secret', ca.name, '-o', `jsonpath=${dataPath('ca.crt')}`)
    : kubectlIn(context, 'get', 'secret', '-A', '--field-selector', 'metadata.name=courseops-ca', '-o', 'jsonpath={.items[0].data.ca\\.crt}');
  return renderCommand({ argv });
}

export function hostsLine(hosts: readonly string[]): string {
  return `127.0.0.1 ${hosts.join(' ')}`;
}

/** How to read the generated credentials (never their values). */
function credentialLines(dist: DistInputs, context: string): string[] {
  const lines = ['Credentials are generated at deploy time and live only in cluster Secrets; read them with:'];
  const loginKey = (k: SecretKeySpec) => !('from' in k) && /(^|-)(user|password)$/.test(k.key);
  const login = dist.secrets.filter((s) => /grafana|dex/.test(s.name) && s.keys.some(loginKey));
  for (const s of login) {
    const who = /dex/.test(s.name) ? `Dex users${dist.dexUsers.length > 0 ? ` ${dist.dexUsers.join(', ')}` : ''}` : /grafana/.test(s.name) ? 'Grafana admin' : s.name;
    lines.push(`  ${who} (${s.namespace}/${s.name}):`);
    for (const k of s.keys.filter(loginKey)) lines.push(`    ${k.key}: ${readSecretCommand(s.namespace, s.name, k.key, context)}`);
  }
  const elastic = dist.manifests.flatMap((m) => m.objects).filter((o) => o.kind === 'Elasticsearch');
  for (const es of elastic) {
    const ns = es.namespace ?? 'default';
    lines.push(`  Kibana/Elasticsearch user "elastic" (${ns}/${es.name}-es-elastic-user):`, `    elastic: ${readSecretCommand(ns, `${es.name}-es-elastic-user`, 'elastic', context)}`);
  }
  const others = dist.secrets.filter((s) => !login.includes(s));
  if (others.length > 0) {
    lines.push('  Other generated secrets (same command, other name and key):');
    for (const s of others) lines.push(`    ${s.namespace}/${s.name}: ${s.keys.map((k) => k.key).join(', ')}`);
  }
  return lines;
}

/** The closing text: /etc/hosts line, URLs and how to read the credentials (never their values). */
export function summaryLines(dist: DistInputs): string[] {
  const lines: string[] = [];
  lines.push('Add this line to /etc/hosts (C:\\Windows\\System32\\drivers\\etc\\hosts on Windows):', `  ${hostsLine(dist.hosts)}`, '');
  lines.push('URLs:');
  for (const host of dist.hosts) lines.push(`  https://${host}/`);
  lines.push('');
  lines.push('Trust the local CA (or accept the browser warning); save it with:');
  lines.push(`  ${caCommand(dist.caSecret)} | base64 -d > courseops-ca.crt`);
  lines.push('');
  lines.push(...credentialLines(dist, KUBE_CONTEXT));
  lines.push('');
  lines.push('Check it end to end with `npm run smoke`; delete it with `npm run down`.');
  return lines;
}

/**
 * The closing text for an existing cluster: the URLs, where Traefik is reached and the DNS records every host needs
 * (no /etc/hosts: real DNS), the CA only when the platform signs its own certificates, the credentials.
 */
export function clusterSummaryLines(dist: DistInputs, context: string): string[] {
  const { cluster, hosts: hostsByRole } = dist.declared;
  const hosts = [...new Set(Object.values(hostsByRole))];
  const traefik = gatewayService(dist.releases);
  const lines: string[] = ['URLs:', ...hosts.map((h) => `  https://${h}/`), ''];
  if (cluster.exposure === 'loadBalancer') {
    lines.push(
      "Traefik (the Gateway) is reached through its LoadBalancer Service; its external address is the EXTERNAL-IP of:",
      `  ${renderCommand({ argv: kubectlIn(context, '-n', traefik.namespace, 'get', 'service', traefik.name) })}`,
    );
  } else {
    lines.push('Traefik (the Gateway) listens on ports 80 and 443 of the node labelled ingress-ready=true; its address is in:', `  ${renderCommand({ argv: kubectlIn(context, 'get', 'nodes', '-l', 'ingress-ready=true', '-o', 'wide') })}`);
  }
  lines.push('Every host needs a DNS record to that address (A for an IP, CNAME for a hostname):', ...hosts.map((h) => `  ${h}`), '');
  if (dist.caSecret) {
    lines.push('The certificates are signed by the platform\'s own CA; trust it (or accept the browser warning); save it with:', `  ${caCommand(dist.caSecret, context)} | base64 -d > courseops-ca.crt`, '');
  } else {
    lines.push(
      `The certificates come from the ClusterIssuer ${cluster.issuer.name} once the DNS records resolve; follow them with:`,
      `  ${renderCommand({ argv: kubectlIn(context, 'get', 'certificates.cert-manager.io', '-A') })}`,
      '',
    );
  }
  lines.push(...credentialLines(dist, context));
  lines.push('');
  lines.push(`Remove it with \`npm run down -- --context ${context}\` (it keeps the PersistentVolumeClaims unless --purge).`);
  return lines;
}

/**
 * Behind a load balancer, Helm's --wait on Traefik waits for its Service to get an external address. Nothing can
 * check beforehand that the cluster hands one out, so a timeout there says what it most likely means.
 */
const loadBalancerHint = (context: string, release: Release) =>
  `Traefik's Service is of type LoadBalancer: if \`kubectl --context ${context} -n ${release.namespace} get service ${release.name}\` shows ` +
  'EXTERNAL-IP <pending>, this cluster gives LoadBalancer Services no address (a cloud cluster does through its load balancer ' +
  'controller; on bare metal install one such as MetalLB), then run up again.';

function helmStep(id: string, title: string, releases: readonly Release[], dist: DistInputs, context: string): Step {
  const behindLoadBalancer = dist.declared.cluster.exposure === 'loadBalancer';
  const commands = releases.map((r): Cmd => {
    const cmd = helmCommand(r, dist.distDir, context);
    return behindLoadBalancer && r.chart === 'traefik' ? { ...cmd, onFailure: loadBalancerHint(context, r) } : cmd;
  });
  return { id, type: 'commands', title: `${title} (${releases.map((r) => r.name).join(', ')})`, commands };
}

/**
 * The Helm releases in order. With an existing ClusterIssuer (tls.clusterIssuer), its check runs right after the
 * cert-manager release (its CRDs arrive with it), before every other release and every manifest.
 */
function helmSteps(dist: DistInputs, context: string): Step[] {
  const { issuer } = dist.declared.cluster;
  const certManager = dist.releases.findIndex((r) => r.chart === 'cert-manager');
  if (!issuer.existing || certManager < 0) return [helmStep('helm', 'Install the Helm releases in order', dist.releases, dist, context)];
  const check = clusterIssuerCheck(context, issuer.name, 'after-cert-manager');
  const steps: Step[] = [
    helmStep('helm', 'Install the Helm releases in order, up to cert-manager', dist.releases.slice(0, certManager + 1), dist, context),
    { id: 'issuer', type: 'checks', title: `Check the ClusterIssuer ${issuer.name} exists`, context, beforeChanges: false, checks: [check], commands: [check.cmd] },
    helmStep('helm-rest', 'Install the remaining Helm releases in order', dist.releases.slice(certManager + 1), dist, context),
  ];
  return steps.filter((s) => s.type !== 'commands' || s.commands.length > 0);
}

function prerequisitesStep(target: ClusterTarget | undefined): Step {
  if (!target) {
    return {
      id: 'prerequisites',
      type: 'prerequisites',
      title: 'Check prerequisites (docker, kind, kubectl, helm)',
      tools: TOOLS.map((t) => t.name),
      commands: [
        { argv: ['docker', 'info', '--format', '{{.ServerVersion}}'], note: 'the Docker daemon answers' },
        { argv: ['kind', 'version'] },
        { argv: ['kubectl', 'version', '--client'] },
        { argv: ['helm', 'version', '--short'] },
      ],
    };
  }
  // No kind; kubectl's own version is part of the cluster checks (`kubectl --context NAME version`).
  const tools = TOOLS.filter((t) => t.name !== 'kind').map((t) => t.name);
  return {
    id: 'prerequisites',
    type: 'prerequisites',
    title: `Check prerequisites (${tools.join(', ')})`,
    tools,
    commands: [{ argv: ['docker', 'info', '--format', '{{.ServerVersion}}'], note: 'the Docker daemon answers' }, { argv: ['helm', 'version', '--short'] }],
  };
}

/** Throws a Refusal when dist/ does not fit the target (profile, --registry): before anything runs. */
export function assertTarget(dist: DistInputs, target: ClusterTarget | undefined): void {
  const refusal = targetRefusal(dist.declared, target, 'up', dist.distDir);
  if (refusal) throw new Refusal(refusal);
  const mismatch = target?.registry === undefined ? undefined : registryMismatch(dist.declared, target.registry, target.context);
  if (mismatch) throw new Refusal(mismatch);
}

export function buildPlan(inputs: PlanInputs): Step[] {
  const kindConfig = inputs.kindConfig ?? 'kind-config.yaml';
  const { target } = inputs;
  const context = target?.context ?? KUBE_CONTEXT;
  const steps: Step[] = [prerequisitesStep(target)];

  if (inputs.synth) {
    steps.push({ id: 'synth', type: 'commands', title: 'Synthesize dist/ (npm run synth)', commands: [{ argv: ['npm', 'run', 'synth'] }] });
  }

  if (!target) {
    steps.push({
      id: 'cluster',
      type: 'commands',
      title: `Create the kind cluster ${CLUSTER_NAME}`,
      skipIf: { probe: { argv: ['kind', 'get', 'clusters'] }, line: CLUSTER_NAME, message: `cluster ${CLUSTER_NAME} already exists` },
      commands: [
        { argv: ['kind', 'create', 'cluster', '--name', CLUSTER_NAME, '--config', kindConfig, '--wait', '2m'], note: `skipped when "kind get clusters" lists ${CLUSTER_NAME}` },
      ],
    });
  }

  const dist = inputs.dist;
  if (!dist) {
    steps.push({
      id: 'pending',
      type: 'note',
      title: target ? 'Cluster checks, images, secrets, Helm releases, manifests and waits' : 'CoreDNS, images, secrets, Helm releases, manifests and waits',
      lines: ['dist/ is missing, so the rest of the plan cannot be listed yet: it is computed from dist/ after `npm run synth`.'],
    });
    return steps;
  }
  assertTarget(dist, target);

  if (target) {
    const checks = clusterChecks(dist.declared, context, dist.releases.some((r) => r.chart === 'cert-manager'));
    steps.push({
      id: 'checks',
      type: 'checks',
      title: `Check the cluster of context ${context} (server version, StorageClass${dist.declared.cluster.issuer.existing ? ', ClusterIssuer' : ''}${checks.some((c) => c.kind === 'database-secret') ? ', database Secrets' : ''})`,
      context,
      beforeChanges: true,
      checks,
      commands: checks.map((c) => c.cmd),
    });
  }

  const { domain } = dist.declared;
  if (dist.declared.cluster.dnsRewrite) {
    const rule = rewriteRule(gatewayService(dist.releases), domain);
    steps.push({ id: 'coredns', type: 'coredns', title: `CoreDNS: resolve *.${domain} to the Gateway (Traefik)`, rule, commands: corednsCommands(rule, context) });
  }
  steps.push(imagesStep(dist.declared, inputs.baseImage, target));

  // Secrets before the charts: charts that reference an existing Secret (Grafana admin, Dex, oauth2-proxy)
  // could not become ready under `helm --wait` without it.
  steps.push({
    id: 'secrets',
    type: 'secrets',
    title: `Create the generated secrets (${dist.secrets.length})`,
    context,
    secrets: dist.secrets,
    commands: secretStepCommands(dist.secrets, context),
  });

  // The Gateway API CRDs come before every release: cert-manager enables its gateway-shim only if they exist
  // when it starts (its certificates for the Gateway's listeners land in the Gateway's namespace), and the
  // traefik chart creates a GatewayClass. Server-side: CRDs are too large for a client-side apply.
  steps.push({
    id: 'gateway-api',
    type: 'commands',
    title: `Install the Gateway API CRDs (${GATEWAY_API.version}, ${GATEWAY_API.channel} channel)`,
    commands: [gatewayApiCommand(context)],
  });

  steps.push(...helmSteps(dist, context));

  steps.push({
    id: 'manifests',
    type: 'commands',
    title: `Apply ${path.join(dist.distDir, 'manifests')} server-side (${dist.manifests.length} files)`,
    commands: dist.manifests.map((m) => applyCommand(m.path, context)),
  });

  steps.push({ id: 'wait', type: 'commands', title: 'Wait for every workload', commands: waitCommands(dist.manifests, context) });

  steps.push(
    target
      ? { id: 'summary', type: 'summary', title: 'URLs, DNS records and credentials', lines: clusterSummaryLines(dist, context) }
      : { id: 'summary', type: 'summary', title: 'Hosts, URLs and credentials', lines: summaryLines(dist) },
  );
  return steps;
}

/** The dry-run text: every command, one per line, secrets masked. */
export function renderPlan(steps: readonly Step[]): string[] {
  const out: string[] = [];
  steps.forEach((step, i) => {
    out.push(`== ${i + 1}. ${step.title} ==`);
    switch (step.type) {
      case 'prerequisites':
        out.push(`# ${step.tools.join(', ')} must be on PATH (clear message and install hint for each missing one)`);
        for (const c of step.commands) out.push(renderCommand(c));
        break;
      case 'commands':
        if (step.skipIf) out.push(renderCommand(step.skipIf.probe));
        for (const c of step.commands) out.push(renderCommand(c));
        break;
      case 'coredns':
      case 'secrets':
      case 'checks':
      case 'namespaces':
        for (const c of step.commands) out.push(renderCommand(c));
        break;
      case 'summary':
      case 'note':
        for (const l of step.lines) out.push(l);
        break;
    }
    out.push('');
  });
  return out;
}
