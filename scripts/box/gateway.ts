/**
 * The platform's gateway in the box: the real Traefik, at the chart's appVersion, serving the Gateway and
 * HTTPRoutes of dist/ on a kwok pod's IP, with the TLS Secrets cert-manager's gateway-shim would write
 * for each HTTPS listener. cert-manager's controller cannot be built from the module proxy (see
 * DESIGN.md), so the box signs those certificates itself with a CA of its own, in the same Secret shape.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureTool } from './build.js';
import { kubectl, kubectlJson, startProcess, waitFor, type BoxState } from './control-plane.js';
import { inNetns, ip } from './netns.js';
import { makeCa, signed } from './pki.js';

export interface GatewayObject {
  readonly metadata: { readonly name: string; readonly namespace: string; readonly annotations?: Record<string, string> };
  readonly spec: {
    readonly gatewayClassName: string;
    readonly listeners: readonly {
      readonly name: string;
      readonly port: number;
      readonly protocol: string;
      readonly hostname?: string;
      readonly tls?: { readonly certificateRefs?: readonly { readonly name: string }[] };
    }[];
  };
}

/**
 * For every HTTPS listener, the Secret cert-manager would issue from the Gateway's cluster-issuer
 * annotation: type kubernetes.io/tls with ca.crt, tls.crt and tls.key, and cert-manager's annotations.
 * Returns the CA certificate file clients trust (the stand-in for the platform CA).
 */
export function issueListenerCertificates(state: BoxState, gateway: GatewayObject): string {
  const dir = join(state.dir, 'gateway-pki');
  mkdirSync(dir, { recursive: true });
  makeCa(dir, 'courseops-platform-ca (box)');
  const issuer = gateway.metadata.annotations?.['cert-manager.io/cluster-issuer'];
  if (!issuer) throw new Error(`Gateway ${gateway.metadata.name} has no cert-manager.io/cluster-issuer annotation: nothing would issue its certificates`);
  for (const l of gateway.spec.listeners.filter((x) => x.protocol === 'HTTPS')) {
    const secret = l.tls?.certificateRefs?.[0]?.name;
    if (!l.hostname || !secret) throw new Error(`listener ${l.name} needs a hostname and a certificateRef for cert-manager to issue a certificate`);
    signed(dir, secret, `/CN=${l.hostname}`, `subjectAltName=DNS:${l.hostname}\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n`);
    const b64 = (f: string) => readFileSync(join(dir, f)).toString('base64');
    kubectl(state, ['apply', '--server-side', '-f', '-'], JSON.stringify({
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/tls',
      metadata: {
        name: secret,
        namespace: gateway.metadata.namespace,
        labels: { 'controller.cert-manager.io/fao': 'true' },
        annotations: {
          'cert-manager.io/alt-names': l.hostname,
          'cert-manager.io/certificate-name': secret,
          'cert-manager.io/common-name': '',
          'cert-manager.io/issuer-group': 'cert-manager.io',
          'cert-manager.io/issuer-kind': 'ClusterIssuer',
          'cert-manager.io/issuer-name': issuer,
        },
      },
      data: { 'ca.crt': b64('ca.crt'), 'tls.crt': b64(`${secret}.crt`), 'tls.key': b64(`${secret}.key`) },
    }));
  }
  return join(dir, 'ca.crt');
}

export interface RunningTraefik {
  /** The kwok pod's IP, where Traefik's entry points listen. */
  readonly ip: string;
  readonly pod: string;
}

export interface TraefikPod {
  readonly namespace: string;
  /** The labels the chart puts on Traefik's pods (its Services, NetworkPolicies and ServiceMonitor select them). */
  readonly labels: Readonly<Record<string, string>>;
  readonly gatewayClass: { readonly name: string; readonly controllerName: string };
  /** The chart's Service in front of the pods (Traefik reports its address in the Gateway's status). */
  readonly service: object;
  /** The container's named ports (the Service's target ports). */
  readonly ports: Readonly<Record<string, number>>;
  /** Traefik's arguments for a pod at this IP, as the chart renders them. */
  readonly args: (podIP: string) => readonly string[];
}

/**
 * What the traefik chart would run: its GatewayClass, one pod (kwok gives it an IP) and the real
 * Traefik listening on that IP. Traefik runs in the box namespace itself (the pod IP is added to its
 * loopback) so that it reaches the API server there with the box's kubeconfig.
 */
export async function startTraefik(state: BoxState, pod: TraefikPod): Promise<RunningTraefik> {
  const bin = (await ensureTool('traefik')).traefik!;
  const name = 'traefik-box';
  kubectl(state, ['apply', '--server-side', '-f', '-'], JSON.stringify({
    apiVersion: 'gateway.networking.k8s.io/v1', kind: 'GatewayClass', metadata: { name: pod.gatewayClass.name }, spec: { controllerName: pod.gatewayClass.controllerName },
  }));
  kubectl(state, ['apply', '--server-side', '-f', '-'], JSON.stringify(pod.service));
  kubectl(state, ['apply', '--server-side', '-f', '-'], JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: pod.namespace, labels: { ...pod.labels } },
    spec: {
      containers: [{ name: 'traefik', image: 'traefik:box', ports: Object.entries(pod.ports).map(([name, containerPort]) => ({ name, containerPort, protocol: 'TCP' })), securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: 'RuntimeDefault' } } }],
    },
  }));
  const podIP = await waitFor(state, 'the Traefik pod IP', () => kubectlJson<{ status: { podIP?: string } }>(state, ['get', 'pod', name, '-n', pod.namespace]).status.podIP);
  ip(['-n', state.netns, 'addr', 'add', `${podIP}/32`, 'dev', 'lo']);
  // Out of cluster: no KUBERNETES_SERVICE_HOST, so Traefik takes the kubeconfig.
  startProcess(state, 'traefik', [bin, ...pod.args(podIP)], { KUBECONFIG: state.kubeconfig, KUBERNETES_SERVICE_HOST: undefined, KUBERNETES_SERVICE_PORT: undefined });
  return { ip: podIP, pod: name };
}

export interface HttpAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/**
 * One request from inside the box, as a browser that resolves the URL's host to Traefik's address would
 * send it.
 * HTTPS requests verify the certificate against `ca`.
 */
export function gatewayRequest(state: BoxState, req: { url: string; ip: string; ca?: string; headers?: Record<string, string>; method?: string }): HttpAnswer {
  const u = new URL(req.url);
  const port = u.port || (u.protocol === 'https:' ? '443' : '80');
  const argv = ['curl', '-sS', '--max-time', '10', '-D', '-', '--resolve', `${u.hostname}:${port}:${req.ip}`, '-X', req.method ?? 'GET'];
  if (req.ca) argv.push('--cacert', req.ca);
  // A browser reaches the entry points through the node's hostPorts 80/443, so its Host header has no port.
  if (!Object.keys(req.headers ?? {}).some((k) => k.toLowerCase() === 'host')) argv.push('-H', `Host: ${u.hostname}`);
  for (const [k, v] of Object.entries(req.headers ?? {})) argv.push('-H', `${k}: ${v}`);
  argv.push(req.url);
  const full = inNetns(state.netns, argv);
  const out = execFileSync(full[0]!, full.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const split = out.indexOf('\r\n\r\n');
  const head = out.slice(0, split).split('\r\n');
  const status = Number(/^HTTP\/[\d.]+ (\d+)/.exec(head[0] ?? '')?.[1]);
  const headers: Record<string, string> = {};
  for (const line of head.slice(1)) {
    const at = line.indexOf(':');
    if (at > 0) headers[line.slice(0, at).toLowerCase()] = line.slice(at + 1).trim();
  }
  return { status, headers, body: out.slice(split + 4) };
}
