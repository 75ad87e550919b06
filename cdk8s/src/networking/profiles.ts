import { METRICS_SERVER_PORT } from '../helm/releases/metrics-server.js';
import { traefikEntryPoints } from '../helm/releases/traefik.js';
import type { PlatformConfig } from '../config.js';
import type { NamespaceKey } from '../namespaces.js';
import { peers } from './peers.js';
import { ANY_NAMESPACE, API_SERVER_RULE, WORLD, type PolicyRule } from './policies.js';

/** The kubelet's port on every node (kind's, through --kubelet-use-node-status-port for metrics-server). */
const KUBELET_PORT = 10250;

/**
 * What each namespace allows on top of its default deny and DNS. The application namespace allows
 * nothing here: each service's policies come from its declaration (services.ts -> Microservice).
 * Platform namespaces run third-party charts whose pods talk among themselves, to the API server and
 * (for webhooks) from the API server, so they get namespace-wide rules.
 */
export interface NamespaceNetworkProfile {
  /** Pods of the namespace may talk to each other (third-party charts with several components). */
  readonly sameNamespace: boolean;
  /** Prometheus may scrape every pod of the namespace. */
  readonly prometheusScrape: boolean;
  readonly ingress: readonly PolicyRule[];
  readonly egress: readonly PolicyRule[];
}

const fromGateway = (ports: number[], why: string): PolicyRule => ({ peers: [peers.gateway], ports, why });

const baseProfiles: Record<NamespaceKey, NamespaceNetworkProfile> = {
  apps: { sameNamespace: false, prometheusScrape: false, ingress: [], egress: [] },
  monitoring: {
    sameNamespace: true,
    prometheusScrape: false,
    ingress: [
      fromGateway([3000, 9090, 9093], 'Grafana, Prometheus and Alertmanager UIs through the Gateway (Traefik)'),
      { peers: [WORLD], ports: [10250], why: 'API server calls the Prometheus Operator admission webhook' },
      { peers: [peers.prometheus], ports: [9115], why: 'Prometheus asks the blackbox exporter to run the Probes' },
      { peers: [peers.rolloutsController], ports: [9090], why: "Argo Rollouts' canary analysis queries Prometheus" },
      { peers: [peers.backupJobs], ports: [9091], why: 'the backup Jobs push their outcome to the Pushgateway' },
    ],
    egress: [
      API_SERVER_RULE,
      { peers: [ANY_NAMESPACE], why: 'Prometheus scrapes pods of every namespace; Alertmanager posts webhooks; Grafana logs in through Dex' },
      {
        peers: [WORLD],
        ports: [9100, 10249, 10250, 10257, 10259, 2381],
        why: 'Prometheus scrapes host-network targets: node-exporter, kube-proxy, kubelet, controller-manager, scheduler, etcd',
      },
      { peers: [WORLD], ports: [587], why: 'Alertmanager sends email through the SMTP submission port (Slack and Discord use 443)' },
    ],
  },
  ingress: {
    sameNamespace: true,
    // Traefik's metrics entry point (9100), through the metrics Service of src/gateway/metrics.ts.
    prometheusScrape: true,
    ingress: [
      {
        peers: [WORLD],
        ports: [traefikEntryPoints.web.port, traefikEntryPoints.websecure.port],
        why: "clients reach Traefik's web and websecure entry points through hostPorts 80/443 (and pods through its Service)",
      },
      {
        peers: [peers.blackboxExporter],
        ports: [traefikEntryPoints.web.port, traefikEntryPoints.websecure.port],
        why: 'the blackbox exporter probes the public endpoints through Traefik (.test hosts rewritten to its Service)',
      },
    ],
    egress: [API_SERVER_RULE, { peers: [ANY_NAMESPACE], why: 'Traefik proxies to backends in every namespace and calls oauth2-proxy for ForwardAuth' }],
  },
  certManager: {
    sameNamespace: true,
    prometheusScrape: true,
    ingress: [{ peers: [WORLD], ports: [10250], why: 'API server calls the cert-manager webhook' }],
    egress: [API_SERVER_RULE],
  },
  elastic: {
    sameNamespace: true,
    prometheusScrape: true,
    ingress: [{ peers: [WORLD], ports: [9443], why: 'API server calls the ECK validating webhook' }],
    egress: [
      API_SERVER_RULE,
      { peers: [ANY_NAMESPACE], ports: [9200, 5601, 9600], why: 'the ECK operator calls the Elasticsearch, Kibana and Logstash APIs it manages' },
    ],
  },
  rollouts: {
    sameNamespace: true,
    prometheusScrape: true,
    ingress: [fromGateway([3100], 'Argo Rollouts dashboard through the Gateway (Traefik)')],
    egress: [API_SERVER_RULE, { peers: [peers.prometheus], ports: [9090], why: 'canary analysis queries Prometheus' }],
  },
  auth: {
    sameNamespace: true,
    prometheusScrape: true,
    ingress: [
      fromGateway([5556, 4180], 'Dex login pages, oauth2-proxy sign-in and ForwardAuth checks from the Gateway (Traefik)'),
      { peers: [peers.grafana], ports: [5556], why: 'Grafana exchanges its OAuth code with Dex (token and userinfo endpoints)' },
    ],
    egress: [],
  },
  metricsServer: {
    sameNamespace: false,
    // Its own metrics endpoint is off (values/metrics-server.ts): nothing to scrape.
    prometheusScrape: false,
    ingress: [{ peers: [WORLD], ports: [METRICS_SERVER_PORT], why: 'API server calls the resource metrics API (APIService v1beta1.metrics.k8s.io)' }],
    egress: [
      API_SERVER_RULE,
      { peers: [WORLD], ports: [KUBELET_PORT], why: "metrics-server reads each node's kubelet (/metrics/resource)" },
    ],
  },
  // The Elastic Stack allows exactly its flows, pod by pod (src/logging/policies.ts): nothing namespace-wide.
  logging: { sameNamespace: false, prometheusScrape: false, ingress: [], egress: [] },
  loggingAgents: { sameNamespace: false, prometheusScrape: false, ingress: [], egress: [] },
};

/** The profiles for a config: with an ACME issuer, cert-manager also talks to Let's Encrypt. */
export function profilesFor(config: Pick<PlatformConfig, 'tls'>): Record<NamespaceKey, NamespaceNetworkProfile> {
  if (config.tls.kind !== 'acme') return baseProfiles;
  const acme: PolicyRule[] = [
    { peers: [WORLD], ports: [443], why: "cert-manager's ACME client orders certificates from Let's Encrypt" },
    // Before asking Let's Encrypt to validate, cert-manager fetches http://<host>/.well-known/acme-challenge/...
    // itself: through the load balancer's address, or (where the cluster short-cuts it) straight to Traefik's pods.
    { peers: [WORLD], ports: [80], why: "cert-manager's self-check of each HTTP-01 challenge through the public address" },
    { peers: [peers.gateway], ports: [traefikEntryPoints.web.port], why: "cert-manager's self-check of each HTTP-01 challenge, short-cut to Traefik" },
  ];
  return { ...baseProfiles, certManager: { ...baseProfiles.certManager, egress: [...baseProfiles.certManager.egress, ...acme] } };
}
