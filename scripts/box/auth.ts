/**
 * oauth2-proxy in the box (issue 12): the real program, built from its module at the chart's appVersion,
 * run on a kwok pod's IP with the configuration file the platform's values give the chart. No chart is
 * installed here, so the objects of the oauth2-proxy chart that other objects depend on (the Service a
 * ForwardAuth address names, the pod behind it) are created as the chart would render them with our
 * values: oauth2-proxy/manifests@oauth2-proxy-10.7.0, helm/oauth2-proxy/templates/{service,deployment,
 * serviceaccount,configmap}.yaml and _helpers.tpl.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { chartAppVersions } from '../../cdk8s/src/helm/app-versions.js';
import type { OAuth2ProxyValues } from '../../cdk8s/src/helm/releases/oauth2-proxy.js';
import { releaseWithValues } from '../cluster/inputs.js';
import { ensureTool } from './build.js';
import { boxNetwork, boxSecret, kubectl, kubectlJson, startProcess, waitFor, type BoxState } from './control-plane.js';
import { addPodNetns, inNetns, ip, shareNetnsHosts } from './netns.js';

/** The release as the platform declares it (platformReleases(): name, namespace, chart version, values). */
export interface Oauth2ProxyRelease {
  readonly name: string;
  readonly namespace: string;
  readonly version: string;
  readonly values: OAuth2ProxyValues;
}

/** The release as `npm run up` installs it from dist/: helm/releases.json and the values file it names. */
export const oauth2ProxyReleaseFromDist = (dist: string): Oauth2ProxyRelease => releaseWithValues<OAuth2ProxyValues>(dist, 'oauth2-proxy');

export interface RunningOauth2Proxy {
  readonly pod: string;
  readonly ip: string;
  /** The container port named `http` (the Service's port 80 targets it). */
  readonly port: number;
  readonly netns: string;
  readonly service: { readonly name: string; readonly namespace: string; readonly port: number };
}

/** Chart defaults our values leave alone (values.yaml at the tag): the container's ports and listen addresses. */
const HTTP_PORT = 4180;
const HTTPS_PORT = 4443;
const METRICS_PORT = 44180;
const SERVICE_PORT = 80;
/** values.yaml `securityContext` (minus `enabled`): what the restricted Pod Security level of `auth` admits. */
const CONTAINER_SECURITY = {
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  runAsUser: 2000,
  runAsGroup: 2000,
  seccompProfile: { type: 'RuntimeDefault' },
};
/** values.yaml `config.requiredSecretKeys` with `proxyVarsAsSecrets: true`: each key becomes this env var. */
const SECRET_ENV = { 'client-id': 'OAUTH2_PROXY_CLIENT_ID', 'client-secret': 'OAUTH2_PROXY_CLIENT_SECRET', 'cookie-secret': 'OAUTH2_PROXY_COOKIE_SECRET' } as const;
/**
 * The values keys this file mirrors. A key outside it (extraArgs, extraEnv, alphaConfig, cookieName …)
 * would change the pod the chart renders, so it fails here rather than being silently left out.
 */
const MIRRORED_KEYS = new Set(['config', 'replicaCount', 'resources', 'podDisruptionBudget', 'metrics', 'ingress', 'sessionStorage']);
const MIRRORED_CONFIG_KEYS = new Set(['existingSecret', 'configFile']);

/** _helpers.tpl: name, fullname (the release name when it contains the chart name), labels and selector labels. */
export function oauth2ProxyChartNames(release: Oauth2ProxyRelease) {
  const chart = 'oauth2-proxy';
  const fullname = release.name.includes(chart) ? release.name : `${release.name}-${chart}`;
  const appVersion = chartAppVersions['oauth2-proxy'].images['oauth2-proxy'].replace(/^v/, '');
  const selector = { 'app.kubernetes.io/name': chart, 'app.kubernetes.io/instance': release.name };
  const labels = {
    app: chart,
    'helm.sh/chart': `${chart}-${release.version}`,
    'app.kubernetes.io/managed-by': 'Helm',
    'app.kubernetes.io/component': 'authentication-proxy',
    'app.kubernetes.io/part-of': chart,
    ...selector,
    'app.kubernetes.io/version': appVersion,
  };
  return { fullname, labels, selector, appVersion };
}

function checkMirrored(values: OAuth2ProxyValues): void {
  const extra = [
    ...Object.keys(values).filter((k) => !MIRRORED_KEYS.has(k)),
    ...Object.keys(values.config).filter((k) => !MIRRORED_CONFIG_KEYS.has(k)).map((k) => `config.${k}`),
  ];
  if (extra.length) throw new Error(`scripts/box/auth.ts does not mirror the oauth2-proxy values ${extra.join(', ')}: teach it how the chart renders them`);
  // The chart renders configFile through `tpl`; a template in it would need Helm to render.
  if (values.config.configFile.includes('{{')) throw new Error('the oauth2-proxy configFile holds a Helm template, which the box cannot render');
}

/** The chart's objects other objects depend on: ServiceAccount, ConfigMap, Service and (in place of the Deployment) one Pod. */
export function oauth2ProxyObjects(release: Oauth2ProxyRelease, podName: string): object[] {
  const { fullname, labels, selector, appVersion } = oauth2ProxyChartNames(release);
  const { values } = release;
  const meta = (name: string) => ({ name, namespace: release.namespace, labels });
  const secretEnv = Object.entries(SECRET_ENV).map(([key, name]) => ({ name, valueFrom: { secretKeyRef: { name: values.config.existingSecret, key } } }));
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(fullname), automountServiceAccountToken: true },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta(fullname), data: { 'oauth2_proxy.cfg': values.config.configFile } },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta(fullname),
      spec: {
        type: 'ClusterIP',
        ports: [
          { port: SERVICE_PORT, targetPort: 'http', protocol: 'TCP', name: 'http' },
          ...(values.metrics.enabled ? [{ port: METRICS_PORT, protocol: 'TCP', appProtocol: 'http', targetPort: 'metrics', name: 'metrics' }] : []),
        ],
        selector,
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: meta(podName),
      spec: {
        serviceAccountName: fullname,
        enableServiceLinks: true,
        automountServiceAccountToken: true,
        containers: [{
          name: 'oauth2-proxy',
          image: `quay.io/oauth2-proxy/oauth2-proxy:v${appVersion}`,
          args: oauth2ProxyArgs(values, '/etc/oauth2_proxy/oauth2_proxy.cfg'),
          env: secretEnv,
          ports: [
            { containerPort: HTTP_PORT, name: 'http', protocol: 'TCP' },
            ...(values.metrics.enabled ? [{ containerPort: METRICS_PORT, protocol: 'TCP', name: 'metrics' }] : []),
          ],
          resources: values.resources,
          volumeMounts: [{ mountPath: '/etc/oauth2_proxy/oauth2_proxy.cfg', name: 'configmain', subPath: 'oauth2_proxy.cfg' }],
          securityContext: CONTAINER_SECURITY,
        }],
        volumes: [{ name: 'configmain', configMap: { name: fullname, defaultMode: 0o644 } }],
      },
    },
  ];
}

/** deployment.yaml `args` for the legacy (TOML) configuration. */
function oauth2ProxyArgs(values: OAuth2ProxyValues, configPath: string): string[] {
  return [
    `--http-address=0.0.0.0:${HTTP_PORT}`,
    `--https-address=0.0.0.0:${HTTPS_PORT}`,
    ...(values.metrics.enabled ? [`--metrics-address=0.0.0.0:${METRICS_PORT}`] : []),
    `--config=${configPath}`,
  ];
}

interface PodJson { status?: { podIP?: string } }

/** HTTP status of a GET from inside the box namespace, or 0 when nothing answers. */
function boxStatus(state: BoxState, url: string): number {
  try {
    const argv = inNetns(state.netns, ['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '3', url]);
    return Number(execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
  } catch {
    return 0;
  }
}

/**
 * Creates the chart's objects, then starts the real oauth2-proxy in a network namespace of its own on the
 * pod's IP, with the chart's arguments, the configuration file from the values and the three credentials
 * from the existing Secret as the chart passes them (env from secretKeyRef). Returns when /ping answers.
 */
export async function startOauth2Proxy(state: BoxState, release: Oauth2ProxyRelease): Promise<RunningOauth2Proxy> {
  checkMirrored(release.values);
  const bin = (await ensureTool('oauth2Proxy'))['oauth2-proxy']!;
  const { fullname } = oauth2ProxyChartNames(release);
  const ns = release.namespace;
  const podName = `${fullname}-box`;
  kubectl(state, ['apply', '--server-side', '-f', '-'], stringify({ apiVersion: 'v1', kind: 'List', items: oauth2ProxyObjects(release, podName) }));
  const podIP = await waitFor(state, `pod ${ns}/${podName} to get an IP`, () => kubectlJson<PodJson>(state, ['get', 'pod', podName, '-n', ns]).status?.podIP, 60_000, 'kwok');

  const secret = boxSecret(state, ns, release.values.config.existingSecret);
  const env: Record<string, string> = {};
  for (const [key, name] of Object.entries(SECRET_ENV)) {
    const value = secret?.[key];
    if (value === undefined) throw new Error(`Secret ${ns}/${release.values.config.existingSecret} has no key ${key} (the chart's pod would not start)`);
    env[name] = value;
  }
  const dir = join(state.dir, 'oauth2-proxy');
  mkdirSync(dir, { recursive: true });
  const config = join(dir, 'oauth2_proxy.cfg');
  writeFileSync(config, release.values.config.configFile);

  const netns = addPodNetns(state.netns, state.processes.length, podIP, boxNetwork.nodeIP);
  // The cluster names it dials (Dex's Service, for the code exchange and keys) resolve as in the box namespace.
  shareNetnsHosts(state.netns, netns);
  startProcess(state, 'oauth2-proxy', [bin, ...oauth2ProxyArgs(release.values, config)], env, netns);
  await waitFor(state, 'oauth2-proxy /ping', () => boxStatus(state, `http://${podIP}:${HTTP_PORT}/ping`) === 200, 60_000, 'oauth2-proxy');
  return { pod: podName, ip: podIP, port: HTTP_PORT, netns, service: { name: fullname, namespace: ns, port: SERVICE_PORT } };
}

/**
 * kube-proxy's part for one Service port: the box runs no kube-proxy and has no iptables, so an address
 * that names a Service (the ForwardAuth address, port 80) would reach nothing, and the pod listens on
 * another port (4180). A small TCP relay in the box namespace listens on the Service's ClusterIP (added to
 * its loopback) and port, and forwards each connection to the pod. Resolve the Service's DNS name to the
 * returned ClusterIP with writeNetnsHosts.
 */
export async function startServiceForwarder(state: BoxState, service: { readonly name: string; readonly namespace: string; readonly port: number }, target: { readonly ip: string; readonly port: number }): Promise<string> {
  const clusterIP = kubectlJson<{ spec: { clusterIP: string } }>(state, ['get', 'service', service.name, '-n', service.namespace]).spec.clusterIP;
  await startTcpRelay(state, `forward-${service.namespace}-${service.name}-${service.port}`, { ip: clusterIP, port: service.port }, target, { ownAddress: true });
  return clusterIP;
}

/**
 * A TCP relay in the box namespace, the part kube-proxy or a hostPort plays in a cluster: it listens on
 * `listen` and forwards each connection to `target`. With `ownAddress` the listen address (a ClusterIP, a
 * pod address) is first put on the namespace's loopback; the node's address is there already. Returns once
 * an HTTP request through it to `readyPath` gets an answer of any status.
 */
export async function startTcpRelay(
  state: BoxState,
  name: string,
  listen: { readonly ip: string; readonly port: number },
  target: { readonly ip: string; readonly port: number },
  options: { readonly ownAddress: boolean; readonly readyPath?: string },
): Promise<void> {
  if (options.ownAddress) ip(['-n', state.netns, 'addr', 'add', `${listen.ip}/32`, 'dev', 'lo']);
  startProcess(state, name, [process.execPath, '-e', TCP_RELAY, listen.ip, String(listen.port), target.ip, String(target.port)]);
  await waitFor(state, `the relay ${name} (${listen.ip}:${listen.port} to ${target.ip}:${target.port})`, () => boxStatus(state, `http://${listen.ip}:${listen.port}${options.readyPath ?? '/'}`) !== 0, 20_000, name);
}

/** A TCP relay for `node -e`; argv: listen host, port, target host, port. Either side closing or failing closes both. */
const TCP_RELAY = `const net = require('node:net');
const [, host, port, toHost, toPort] = process.argv;
net.createServer((client) => {
  const upstream = net.connect(Number(toPort), toHost);
  const close = () => { client.destroy(); upstream.destroy(); };
  client.on('error', close); upstream.on('error', close);
  client.pipe(upstream).pipe(client);
}).listen(Number(port), host);`;
