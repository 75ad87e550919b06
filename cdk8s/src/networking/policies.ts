import { Construct } from 'constructs';
import * as k8s from '../k8s.js';
import { NAMESPACE_NAME_LABEL } from '../labels.js';

/** Who is on the other end of a connection. */
export type Peer =
  /** Pods (optionally by labels) of one namespace. */
  | { readonly namespace: string; readonly podLabels?: Readonly<Record<string, string>> }
  /** Pods of every namespace (e.g. Prometheus scraping, Traefik's backends). */
  | { readonly anyNamespace: true; readonly podLabels?: Readonly<Record<string, string>> }
  /** Anything outside the pod network: the API server, node IPs, clients reaching a hostPort. */
  | { readonly world: true };

export interface PolicyRule {
  readonly peers: readonly Peer[];
  /** TCP ports; all ports when omitted. */
  readonly ports?: readonly number[];
  /** UDP ports (DNS). */
  readonly udpPorts?: readonly number[];
  /** Why this is allowed: written to the policy as an annotation. */
  readonly why: string;
}

export const WORLD: Peer = { world: true };
export const ANY_NAMESPACE: Peer = { anyNamespace: true };

export function peerJson(peer: Peer): k8s.NetworkPolicyPeer {
  if ('world' in peer) return { ipBlock: { cidr: '0.0.0.0/0' } };
  if ('anyNamespace' in peer) {
    return { namespaceSelector: {}, ...(peer.podLabels ? { podSelector: { matchLabels: { ...peer.podLabels } } } : {}) };
  }
  return {
    namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: peer.namespace } },
    ...(peer.podLabels ? { podSelector: { matchLabels: { ...peer.podLabels } } } : {}),
  };
}

function portsJson(rule: PolicyRule): k8s.NetworkPolicyPort[] | undefined {
  const tcp = (rule.ports ?? []).map((p) => ({ protocol: 'TCP', port: k8s.IntOrString.fromNumber(p) }));
  const udp = (rule.udpPorts ?? []).map((p) => ({ protocol: 'UDP', port: k8s.IntOrString.fromNumber(p) }));
  const all = [...tcp, ...udp];
  return all.length > 0 ? all : undefined;
}

export interface PolicyProps {
  readonly namespace: string;
  readonly name: string;
  /** Pods the policy applies to; all pods of the namespace when omitted. */
  readonly podLabels?: Readonly<Record<string, string>>;
  readonly ingress?: readonly PolicyRule[];
  readonly egress?: readonly PolicyRule[];
  readonly labels?: Readonly<Record<string, string>>;
}

/**
 * An allow-list NetworkPolicy. Policies are additive: each one names the pods, the direction and the
 * peers it allows, on top of the namespace's default deny.
 */
export class AllowPolicy extends Construct {
  readonly policy: k8s.KubeNetworkPolicy;

  constructor(scope: Construct, id: string, props: PolicyProps) {
    super(scope, id);
    const types: string[] = [];
    if (props.ingress) types.push('Ingress');
    if (props.egress) types.push('Egress');
    const why = [...(props.ingress ?? []), ...(props.egress ?? [])].map((r) => r.why).join('; ');
    this.policy = new k8s.KubeNetworkPolicy(this, 'Resource', {
      metadata: {
        name: props.name,
        namespace: props.namespace,
        ...(props.labels ? { labels: { ...props.labels } } : {}),
        annotations: { 'courseops.dev/why': why },
      },
      spec: {
        podSelector: props.podLabels ? { matchLabels: { ...props.podLabels } } : {},
        policyTypes: types,
        // An empty rule list is written as no list: the API server stores [] as absent, so `ingress: []`
        // differed from the live object on every apply and bumped its generation (seen in the box).
        ...(props.ingress?.length ? { ingress: props.ingress.map((r) => ({ from: r.peers.map(peerJson), ports: portsJson(r) })) } : {}),
        ...(props.egress?.length ? { egress: props.egress.map((r) => ({ to: r.peers.map(peerJson), ports: portsJson(r) })) } : {}),
      },
    });
  }
}

/** Denies all ingress and egress to every pod of the namespace: everything else is an explicit allow. */
export class DefaultDeny extends Construct {
  constructor(scope: Construct, id: string, props: { namespace: string }) {
    super(scope, id);
    new k8s.KubeNetworkPolicy(this, 'Resource', {
      metadata: {
        name: 'default-deny',
        namespace: props.namespace,
        annotations: { 'courseops.dev/why': 'deny everything not explicitly allowed' },
      },
      spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
    });
  }
}

/** Cluster DNS (CoreDNS in kube-system). */
export const DNS_RULE: PolicyRule = {
  peers: [{ namespace: 'kube-system', podLabels: { 'k8s-app': 'kube-dns' } }],
  ports: [53],
  udpPorts: [53],
  why: 'cluster DNS',
};

/**
 * The API server is outside the pod network (a node IP behind the `kubernetes` Service, port 6443 on
 * kind): NetworkPolicy can only name it by address, so controllers get ports 443/6443 to any address.
 */
export const API_SERVER_RULE: PolicyRule = { peers: [WORLD], ports: [443, 6443], why: 'Kubernetes API server' };
