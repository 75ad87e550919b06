/**
 * Dex in the box (issue 13): the real program, built from its module at the image tag our values pin
 * (DEX_IMAGE_TAG), run on a kwok pod's IP with the configuration file and env the dex chart gives its
 * container from our values and the Secrets `up` generates. No chart is installed here, so the objects of
 * the dex chart that others depend on (the Service that oauth2-proxy, Grafana and the `dex` HTTPRoute
 * name, the config Secret, the pod behind them) are created as the chart renders them with our values:
 * dexidp/helm-charts@dex-0.24.0, charts/dex/templates/{service,secret,serviceaccount,deployment}.yaml and
 * _helpers.tpl. The image's entrypoint would first pass config.yaml through gomplate; ours holds no
 * template (checked), so Dex reads the file as the chart wrote it.
 *
 * Also here: what the sign-in checks need around it (the users and their generated passwords, the
 * authorization-code exchange of a client, ID token verification), and the stand-ins the box puts where
 * a protected UI's pods would answer.
 */
import { createHash, createHmac, createPublicKey, randomBytes, verify, type JsonWebKey } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { chartAppVersions } from '../../cdk8s/src/helm/app-versions.js';
import type { DexValues } from '../../cdk8s/src/helm/releases/dex.js';
import { parseSecrets, releaseWithValues, type SecretSpec } from '../cluster/inputs.js';
import { ensureTool } from './build.js';
import { boxNetwork, boxSecret, kubectl, kubectlJson, startProcess, waitFor, type BoxState } from './control-plane.js';
import { addPodNetns, inNetns, ip, shareNetnsHosts } from './netns.js';
import { boxGet } from './operators.js';

/** The release as `npm run up` installs it from dist/: helm/releases.json and the values file it names. */
export interface DexRelease {
  readonly name: string;
  readonly namespace: string;
  readonly version: string;
  readonly values: DexValues;
}

export const dexReleaseFromDist = (dist: string): DexRelease => releaseWithValues<DexValues>(dist, 'dex');

/** deployment.yaml: the container's ports and the addresses `dex serve` gets (https and gRPC are off in our values). */
const HTTP_PORT = 5556;
const TELEMETRY_PORT = 5558;
/** The chart mounts its config Secret here. */
const CONFIG_FILE = '/etc/dex/config.yaml';
/** The values keys this file mirrors; another one would change what the chart renders, so it fails here. */
const MIRRORED_KEYS = new Set(['replicaCount', 'image', 'config', 'envVars', 'volumes', 'volumeMounts', 'resources', 'podSecurityContext', 'securityContext', 'ingress', 'serviceMonitor']);

function checkMirrored(values: DexValues): void {
  const extra = Object.keys(values).filter((k) => !MIRRORED_KEYS.has(k));
  if (extra.length) throw new Error(`scripts/box/dex.ts does not mirror the dex values ${extra.join(', ')}: teach it how the chart renders them`);
  if (values.ingress.enabled) throw new Error('the dex values enable the chart\'s Ingress, which the box does not render (the platform routes Dex through the Gateway)');
  // The image's entrypoint renders config.yaml with gomplate; a template in it would need that step.
  if (stringify(values.config).includes('{{')) throw new Error('the dex config holds a gomplate template, which the box does not render');
}

/** _helpers.tpl: fullname (the release name when it contains the chart name), labels and selector labels. */
export function dexChartNames(release: DexRelease) {
  const chart = 'dex';
  const fullname = release.name.includes(chart) ? release.name : `${release.name}-${chart}`;
  const appVersion = chartAppVersions.dex.images.dex.replace(/^v/, '');
  const selector = { 'app.kubernetes.io/name': chart, 'app.kubernetes.io/instance': release.name };
  const labels = { 'helm.sh/chart': `${chart}-${release.version}`, ...selector, 'app.kubernetes.io/version': appVersion, 'app.kubernetes.io/managed-by': 'Helm' };
  return { fullname, labels, selector, image: `ghcr.io/dexidp/dex:${release.values.image.tag || `v${appVersion}`}` };
}

/** deployment.yaml `args` (after the program name). */
const dexArgs = (configFile: string) => ['serve', '--web-http-addr', `0.0.0.0:${HTTP_PORT}`, '--telemetry-addr', `0.0.0.0:${TELEMETRY_PORT}`, configFile];

/** The chart's objects others depend on: ServiceAccount, config Secret, Service and (in place of the Deployment) one Pod. */
export function dexObjects(release: DexRelease, podName: string): object[] {
  const { fullname, labels, selector, image } = dexChartNames(release);
  const { values } = release;
  const meta = (name: string) => ({ name, namespace: release.namespace, labels });
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(fullname) },
    { apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: meta(fullname), data: { 'config.yaml': Buffer.from(stringify(values.config)).toString('base64') } },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta(fullname),
      spec: {
        type: 'ClusterIP',
        ports: [
          { name: 'http', port: HTTP_PORT, targetPort: 'http', protocol: 'TCP', appProtocol: 'http' },
          { name: 'telemetry', port: TELEMETRY_PORT, targetPort: 'telemetry', protocol: 'TCP', appProtocol: 'http' },
        ],
        selector,
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { ...meta(podName), labels: selector },
      spec: {
        serviceAccountName: fullname,
        securityContext: values.podSecurityContext,
        containers: [{
          name: 'dex',
          securityContext: values.securityContext,
          image,
          args: ['dex', ...dexArgs(CONFIG_FILE)],
          env: values.envVars,
          ports: [
            { name: 'http', containerPort: HTTP_PORT, protocol: 'TCP' },
            { name: 'telemetry', containerPort: TELEMETRY_PORT, protocol: 'TCP' },
          ],
          livenessProbe: { httpGet: { path: '/healthz/live', port: 'telemetry' } },
          readinessProbe: { httpGet: { path: '/healthz/ready', port: 'telemetry' } },
          resources: values.resources,
          volumeMounts: [{ name: 'config', mountPath: '/etc/dex', readOnly: true }, ...values.volumeMounts],
        }],
        volumes: [{ name: 'config', secret: { secretName: fullname } }, ...values.volumes],
      },
    },
  ];
}

export type ReadSecret = (name: string) => Readonly<Record<string, string>> | undefined;

/**
 * What Dex's container gets from the release's values and the Secrets of its namespace: config.yaml as the
 * chart's Secret holds it, and the env its `envVars` give, each secretKeyRef resolved. Throws where the
 * kubelet would not start the pod (a Secret or key missing), and where the config reads an env var the pod
 * does not set (Dex would start with an empty password hash or client secret).
 */
export function dexConfigAndEnv(values: DexValues, readSecret: ReadSecret): { config: string; env: Record<string, string> } {
  const env: Record<string, string> = {};
  for (const v of values.envVars) {
    const { name, key } = v.valueFrom.secretKeyRef;
    const value = readSecret(name)?.[key];
    if (value === undefined) throw new Error(`env ${v.name}: Secret ${name} has no key ${key} (the dex pod would not start)`);
    env[v.name] = value;
  }
  const read = [...values.config.staticPasswords.map((u) => u.hashFromEnv), ...values.config.staticClients.map((c) => c.secretEnv)];
  const unset = read.filter((name) => env[name] === undefined);
  if (unset.length) throw new Error(`the dex config reads ${unset.join(', ')}, which the pod's env does not set`);
  return { config: stringify(values.config), env };
}

export interface RunningDex {
  readonly pod: string;
  readonly ip: string;
  readonly port: number;
  readonly netns: string;
  readonly service: { readonly name: string; readonly namespace: string; readonly port: number };
}

/**
 * Creates the chart's objects, then starts the real Dex in a network namespace of its own on the pod's
 * IP, with the chart's arguments, config.yaml and env (dexConfigAndEnv, from the Secrets in the box's API
 * server). Returns when its readiness endpoint answers.
 */
export async function startDex(state: BoxState, release: DexRelease): Promise<RunningDex> {
  checkMirrored(release.values);
  const bin = (await ensureTool('dex')).dex!;
  const { fullname } = dexChartNames(release);
  const ns = release.namespace;
  const podName = `${fullname}-box`;
  kubectl(state, ['apply', '--server-side', '-f', '-'], stringify({ apiVersion: 'v1', kind: 'List', items: dexObjects(release, podName) }));
  const podIP = await waitFor(state, `pod ${ns}/${podName} to get an IP`, () => kubectlJson<{ status?: { podIP?: string } }>(state, ['get', 'pod', podName, '-n', ns]).status?.podIP, 60_000, 'kwok');
  const { config, env } = dexConfigAndEnv(release.values, (name) => boxSecret(state, ns, name));
  const dir = join(state.dir, 'dex');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'config.yaml');
  // What the pod would read at /etc/dex/config.yaml: the chart's Secret as the API server holds it.
  writeFileSync(file, boxSecret(state, ns, fullname)!['config.yaml']!);
  if (readFileSync(file, 'utf8') !== config) throw new Error(`Secret ${ns}/${fullname} does not hold the config.yaml of the values`);
  const netns = addPodNetns(state.netns, state.processes.length, podIP, boxNetwork.nodeIP);
  shareNetnsHosts(state.netns, netns);
  startProcess(state, 'dex', [bin, ...dexArgs(file)], env, netns);
  await waitFor(state, 'Dex ready', () => boxGet(state, `http://${podIP}:${TELEMETRY_PORT}/healthz/ready`) !== undefined, 60_000, 'dex');
  return { pod: podName, ip: podIP, port: HTTP_PORT, netns, service: { name: fullname, namespace: ns, port: HTTP_PORT } };
}

export interface DexUser {
  readonly email: string;
  readonly username: string;
  readonly groups: readonly string[];
  /** The generated password: the key the Secret's bcrypt hash is made from (dist/secrets.json). */
  readonly password: string;
}

/**
 * Each static user with the password `up` generated for it, followed from the values: the user's
 * hashFromEnv names an env var, the chart's envVars its Secret and key, and dist/secrets.json says that key
 * is the bcrypt hash of another key of the same Secret, whose value is the password.
 */
export function dexUsers(release: DexRelease, secrets: readonly SecretSpec[], readSecret: ReadSecret): DexUser[] {
  return release.values.config.staticPasswords.map((u) => {
    const ref = release.values.envVars.find((v) => v.name === u.hashFromEnv)?.valueFrom.secretKeyRef;
    if (!ref) throw new Error(`user ${u.email}: no env var ${u.hashFromEnv}`);
    const spec = secrets.find((s) => s.namespace === release.namespace && s.name === ref.name)?.keys.find((k) => k.key === ref.key);
    if (!spec || !('from' in spec)) throw new Error(`user ${u.email}: ${ref.name}.${ref.key} is not a bcrypt hash of another key in secrets.json`);
    const password = readSecret(ref.name)?.[spec.from];
    if (!password) throw new Error(`user ${u.email}: Secret ${ref.name} has no key ${spec.from}`);
    return { email: u.email, username: u.username, groups: u.groups, password };
  });
}

export function dexSecretsFromDist(dist: string): SecretSpec[] {
  return parseSecrets(JSON.parse(readFileSync(join(dist, 'secrets.json'), 'utf8')));
}

/** A PKCE pair (RFC 7636, S256), as Grafana makes with use_pkce. */
export function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** An HTTP request from inside the box namespace (names resolve through its hosts file); JSON answer. */
export function boxJson<T>(state: BoxState, url: string, options: { form?: Record<string, string>; user?: string; bearer?: string; ca?: string } = {}): { status: number; body: T } {
  const argv = ['curl', '-sS', '--max-time', '10', '-w', '\n%{http_code}'];
  if (options.ca) argv.push('--cacert', options.ca);
  if (options.user) argv.push('-u', options.user);
  if (options.bearer) argv.push('-H', `Authorization: Bearer ${options.bearer}`);
  for (const [k, v] of Object.entries(options.form ?? {})) argv.push('--data-urlencode', `${k}=${v}`);
  argv.push(url);
  const full = inNetns(state.netns, argv);
  const out = execFileSync(full[0]!, full.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const at = out.lastIndexOf('\n');
  return { status: Number(out.slice(at + 1)), body: JSON.parse(out.slice(0, at)) as T };
}

export type Claims = Record<string, unknown> & { iss: string; aud: string | string[]; exp: number; email?: string; groups?: string[] };

/** Checks an RS256 JWT's signature against the issuer's JWKS and returns its claims. */
export function verifiedClaims(jwt: string, jwks: { keys: (JsonWebKey & { kid?: string })[] }): Claims {
  const [head, payload, signature] = jwt.split('.') as [string, string, string];
  const header = JSON.parse(Buffer.from(head, 'base64url').toString('utf8')) as { alg: string; kid?: string };
  if (header.alg !== 'RS256') throw new Error(`unexpected JWT alg ${header.alg}`);
  const jwk = jwks.keys.find((k) => k.kid === header.kid);
  if (!jwk) throw new Error(`no key ${header.kid} in the JWKS`);
  const ok = verify('RSA-SHA256', Buffer.from(`${head}.${payload}`), createPublicKey({ key: jwk, format: 'jwk' }), Buffer.from(signature, 'base64url'));
  if (!ok) throw new Error('JWT signature does not verify');
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Claims;
}

/**
 * The addresses one port of a Service sends its traffic to (its EndpointSlices' ready endpoints, with the
 * port of the same name): where Traefik sends the requests of a route whose backendRef names that port.
 */
export function serviceEndpoints(state: BoxState, namespace: string, service: { readonly name: string; readonly port: number }): { ip: string; port: number }[] {
  const ports = kubectlJson<{ spec: { ports: { name?: string; port: number }[] } }>(state, ['get', 'service', service.name, '-n', namespace]).spec.ports;
  const portName = ports.find((p) => p.port === service.port)?.name ?? '';
  type Slice = { endpoints?: { addresses: string[]; conditions?: { ready?: boolean } }[]; ports?: { name?: string; port: number }[] };
  const slices = kubectlJson<{ items: Slice[] }>(state, ['get', 'endpointslices', '-n', namespace, '-l', `kubernetes.io/service-name=${service.name}`]).items;
  const endpoints = slices.flatMap((s) => {
    const port = (s.ports ?? []).find((p) => (p.name ?? '') === portName)?.port;
    if (port === undefined) return [];
    return (s.endpoints ?? []).filter((e) => e.conditions?.ready !== false).flatMap((e) => e.addresses.map((ip) => ({ ip, port })));
  });
  if (endpoints.length === 0) throw new Error(`Service ${namespace}/${service.name} has no ready endpoint for port ${service.port}`);
  return endpoints;
}

/**
 * A stand-in upstream on a pod address of a Service whose pods the box does not run (Alertmanager's):
 * it answers every request with 200 and, as JSON, the method, URL and headers it received, so a test
 * sees exactly what a protected UI would get from Traefik.
 */
export async function startEchoUpstream(state: BoxState, name: string, at: { ip: string; port: number }): Promise<void> {
  ip(['-n', state.netns, 'addr', 'add', `${at.ip}/32`, 'dev', 'lo']);
  startProcess(state, name, [process.execPath, '-e', ECHO_SERVER, at.ip, String(at.port)]);
  await waitFor(state, `the echo upstream ${name}`, () => boxGet(state, `http://${at.ip}:${at.port}/`)?.includes('"echo"'), 20_000, name);
}

/** argv: listen host, port. */
const ECHO_SERVER = `const http = require('node:http');
const [, host, port] = process.argv;
http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ echo: true, method: req.method, url: req.url, headers: req.headers }));
}).listen(Number(port), host);`;

export interface EchoAnswer {
  readonly echo: true;
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string>;
}

/**
 * oauth2-proxy's session cookie is `<value>|<unix time it was made>|<signature>`; a cookie older than
 * cookie_expire is refused even when well signed (pkg/encryption/utils.go at v7.15.3, Validate). The
 * signature (cookieSignature there): HMAC-SHA256 keyed with the cookie secret over the cookie's name, value
 * and time, in padded base64url. A test uses it to give a real session an old time, after checking that it
 * reproduces the signature oauth2-proxy itself made.
 */
export function oauth2ProxyCookieSignature(secret: string, name: string, value: string, time: string): string {
  return createHmac('sha256', secret).update(name).update(value).update(time).digest('base64').replaceAll('+', '-').replaceAll('/', '_');
}

/** oauth2-proxy v7.15.3's cookie_expire when the configuration sets none (pkg/apis/options/cookie.go). */
export const OAUTH2_PROXY_DEFAULT_COOKIE_EXPIRE_HOURS = 168;
/** oauth2-proxy v7.15.3's cookie_name default; a session too large for one cookie is split into <name>_0, <name>_1 … */
export const OAUTH2_PROXY_DEFAULT_COOKIE_NAME = '_oauth2_proxy';
