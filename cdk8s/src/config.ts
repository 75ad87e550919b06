/**
 * The settings that vary per cluster, as one typed value: a profile chosen by name (`kind`, today's laptop
 * cluster, or `cluster`, any real multi-node cluster) with every setting overridable by the config file
 * (config-file.ts reads and checks it). Everything else is declared in code.
 */
export type ProfileName = 'kind' | 'cluster';

/** Who signs the certificates of the Gateway's HTTPS listeners (cert-manager). */
export type TlsIssuer =
  /** The platform's own CA (src/tls/ca.ts): browsers trust it once its ca.crt is imported. */
  | { readonly kind: 'self-signed' }
  /** Let's Encrypt over HTTP-01 through the Gateway: needs public DNS for every host. */
  | { readonly kind: 'acme'; readonly server: 'staging' | 'production'; readonly email: string }
  /** A ClusterIssuer the cluster already has (a company CA, DNS-01, ...). */
  | { readonly kind: 'cluster-issuer'; readonly name: string };

export interface StatefulSizing {
  /** Requests and memory limit of the one pod (CPU is not limited: it is not throttled when the node is idle). */
  readonly cpu: string;
  readonly memory: string;
  /** Its data volume. */
  readonly storage: string;
}

export interface PlatformConfig {
  readonly profile: ProfileName;
  /** Image registry/prefix of the service images: `${imagePrefix}/${service}:${imageTag}`. */
  readonly imagePrefix: string;
  /** Tag of the service images (the bring-up builds them, then loads or pushes them). */
  readonly imageTag: string;
  /** DNS suffix of every public host. */
  readonly domain: string;
  /** Nodes the DaemonSets run on (the footprint counts one pod per node). */
  readonly nodes: number;
  /** Each service runs at least this many replicas, whatever its declaration says. */
  readonly minReplicas: number;
  /** Spread each workload's replicas across zones (required) and nodes (preferred). */
  readonly spreadAcrossZones: boolean;
  /** The StorageClass every volume claims; absent: the cluster's default one. */
  readonly storageClass?: string;
  readonly tls: TlsIssuer;
  /** How Traefik is reached: kind's hostPorts on the ingress-ready node, or a LoadBalancer Service. */
  readonly exposure: 'hostPort' | 'loadBalancer';
  /** Pods resolve the public hosts to Traefik's Service (CoreDNS rewrite): for a domain without real DNS. */
  readonly dnsRewrite: boolean;
  readonly elasticsearch: StatefulSizing;
  readonly prometheus: StatefulSizing & { readonly retention: string };
  /** Services whose database is the user's own (a managed PostgreSQL): no StatefulSet, no backup CronJob. */
  readonly externalDatabases: readonly string[];
  /** The pod network: the services believe X-Forwarded-For from it only (Traefik's pods are in it). */
  readonly podCidr: string;
}

/** `kind`: one node on a laptop, inside an 8 GiB budget; names under `.test`, resolved by /etc/hosts and CoreDNS. */
const kindProfile: PlatformConfig = {
  profile: 'kind',
  imagePrefix: 'courseops',
  imageTag: 'dev',
  domain: 'courseops.test',
  nodes: 1,
  minReplicas: 1,
  spreadAcrossZones: false,
  tls: { kind: 'self-signed' },
  exposure: 'hostPort',
  dnsRewrite: true,
  elasticsearch: { cpu: '250m', memory: '1280Mi', storage: '5Gi' },
  prometheus: { cpu: '200m', memory: '768Mi', storage: '5Gi', retention: '15d' },
  externalDatabases: [],
  podCidr: '10.244.0.0/16',
};

/**
 * `cluster`: several nodes in several zones. Two replicas at least, spread over zones so a zone or a node can
 * go (a drain, an upgrade) with every service still up; real DNS and a real certificate, so no CoreDNS rewrite
 * and an ACME or existing issuer (the config file names it: there is no sensible default); Elasticsearch and
 * Prometheus sized for weeks of a team's data rather than a laptop's hour.
 */
const { domain: _kindDomain, tls: _kindTls, ...kindRest } = kindProfile;
const clusterProfile: Omit<PlatformConfig, 'domain' | 'tls'> = {
  ...kindRest,
  profile: 'cluster',
  nodes: 3,
  minReplicas: 2,
  spreadAcrossZones: true,
  exposure: 'loadBalancer',
  dnsRewrite: false,
  elasticsearch: { cpu: '1', memory: '4Gi', storage: '50Gi' },
  prometheus: { cpu: '500m', memory: '4Gi', storage: '50Gi', retention: '30d' },
};

export const profiles = { kind: kindProfile, cluster: clusterProfile } as const;

/** The `kind` profile: what `npm run synth` builds without a config file. */
export const defaultConfig: PlatformConfig = kindProfile;

/** The config names the service's database as the user's own (databases.external): no StatefulSet, no backup, no exporter. */
export const hasExternalDatabase = (ctx: { readonly config: Pick<PlatformConfig, 'externalDatabases'>; readonly decl: { readonly name: string } }): boolean =>
  ctx.config.externalDatabases.includes(ctx.decl.name);

/** The image of a service (or of `backup`): `<prefix>/<name>:<tag>`; the bring-up builds exactly these. */
export const imageOf = (config: Pick<PlatformConfig, 'imagePrefix' | 'imageTag'>, name: string): string => `${config.imagePrefix}/${name}:${config.imageTag}`;

/** What Docker accepts as an image tag. */
export const IMAGE_TAG_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
export const DNS_NAME_PATTERN = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/;

/**
 * The kind cluster's pod network: kind's default pod subnet (kind-config.yaml leaves `networking.podSubnet`
 * unset; test/trusted-proxies.test.ts holds it to this value, and the box's kwok nodes take their pod
 * ranges from it, scripts/box/control-plane.ts). The kind profile's podCidr; a real cluster sets its own.
 */
export const CLUSTER_POD_CIDR = kindProfile.podCidr;
