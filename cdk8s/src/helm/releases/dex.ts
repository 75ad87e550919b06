import { serviceUrl } from '../../cluster-dns.js';
import type { Hosts } from '../../hosts.js';
import { ns } from '../../namespaces.js';
import type { ReleaseModule } from '../release.js';
import { envFromSecret, resources, restrictedContainer, restrictedPod, type ContainerSecurity, type EnvVarFromSecret, type PodSecurity, type Resources } from '../types.js';

export const DEX_CLIENTS_SECRET = 'dex-clients';
export const DEX_USERS_SECRET = 'dex-static-users';
export const dexService = { name: 'dex', port: 5556 } as const;
/** Dex inside the cluster: its clients exchange codes and fetch keys here, needing no trust in the platform CA. */
export const dexInternalUrl = serviceUrl(dexService.name, ns.auth.name, dexService.port);
/** Groups on static users need Dex v2.45 or later (../shared/DESIGN.md); the chart's default is its appVersion (v2.44.0). */
export const DEX_IMAGE_TAG = 'v2.45.1';
/**
 * The image's entrypoint (docker-entrypoint) renders config.yaml with gomplate into a file it creates in
 * /tmp, then starts `dex serve` on that file. The root filesystem is read-only, so /tmp is an emptyDir
 * (without it Dex exits at start and crash-loops).
 */
export const DEX_TMP = { volume: 'tmp', mountPath: '/tmp', sizeLimit: '16Mi' } as const;

/** Groups Dex puts in the `groups` claim; Grafana roles and oauth2-proxy access follow them. */
export const groups = { admins: 'courseops-admins', viewers: 'courseops-viewers' } as const;

/** The static users: passwords are generated at deploy time, Dex reads their bcrypt hashes from env. */
export const staticUsers = [
  { username: 'admin', userID: '6f0d1a57-5f5a-4b8e-9d0c-1c0f4b9a2a01', groups: [groups.admins], secretKey: 'admin' },
  { username: 'viewer', userID: '0b7e3c1e-2d44-4a55-8f8e-6a4c2e9b3b02', groups: [groups.viewers], secretKey: 'viewer' },
] as const;

/** Dex's configuration file (config.yaml, rendered by the chart into a Secret: no secret is written in it). */
export interface DexConfig {
  readonly issuer: string;
  readonly storage: { readonly type: 'memory' };
  readonly web: { readonly http: string };
  readonly telemetry: { readonly http: string };
  readonly oauth2: { readonly skipApprovalScreen: boolean; readonly responseTypes: readonly string[] };
  readonly enablePasswordDB: boolean;
  readonly staticPasswords: readonly {
    readonly email: string;
    readonly username: string;
    readonly userID: string;
    readonly hashFromEnv: string;
    readonly groups: readonly string[];
  }[];
  readonly staticClients: readonly { readonly id: string; readonly name: string; readonly secretEnv: string; readonly redirectURIs: readonly string[] }[];
}

export interface DexValues {
  readonly replicaCount: number;
  readonly image: { readonly tag: string };
  readonly config: DexConfig;
  readonly envVars: readonly EnvVarFromSecret[];
  /** Extra pod volumes and container mounts (the chart adds its own `config` volume at /etc/dex). */
  readonly volumes: readonly { readonly name: string; readonly emptyDir: { readonly sizeLimit: string } }[];
  readonly volumeMounts: readonly { readonly name: string; readonly mountPath: string }[];
  readonly resources: Resources;
  readonly podSecurityContext: PodSecurity;
  readonly securityContext: ContainerSecurity;
  readonly ingress: { readonly enabled: boolean };
  readonly serviceMonitor: { readonly enabled: boolean };
}

const dexResources = resources('20m', '48Mi', '128Mi');
const envName = (s: string) => s.toUpperCase().replace(/[^A-Z0-9]/g, '_');

export function dexValues(h: Hosts): DexValues {
  return {
    replicaCount: 1,
    image: { tag: DEX_IMAGE_TAG },
    config: {
      issuer: `https://${h.dex}`,
      storage: { type: 'memory' },
      web: { http: '0.0.0.0:5556' },
      telemetry: { http: '0.0.0.0:5558' },
      oauth2: { skipApprovalScreen: true, responseTypes: ['code'] },
      enablePasswordDB: true,
      staticPasswords: staticUsers.map((u) => ({
        email: `${u.username}@${h.dex.replace(/^dex\./, '')}`,
        username: u.username,
        userID: u.userID,
        hashFromEnv: `DEX_${envName(u.secretKey)}_PASSWORD_HASH`,
        groups: [...u.groups],
      })),
      staticClients: [
        { id: 'grafana', name: 'Grafana', secretEnv: 'DEX_GRAFANA_CLIENT_SECRET', redirectURIs: [`https://${h.grafana}/login/generic_oauth`] },
        {
          id: 'oauth2-proxy',
          name: 'courseops operator UIs',
          secretEnv: 'DEX_OAUTH2_PROXY_CLIENT_SECRET',
          redirectURIs: [h.prometheus, h.alertmanager, h.rollouts].map((host) => `https://${host}/oauth2/callback`),
        },
      ],
    },
    envVars: [
      ...staticUsers.map((u) => envFromSecret(`DEX_${envName(u.secretKey)}_PASSWORD_HASH`, DEX_USERS_SECRET, `${u.secretKey}-password-hash`)),
      envFromSecret('DEX_GRAFANA_CLIENT_SECRET', DEX_CLIENTS_SECRET, 'grafana'),
      envFromSecret('DEX_OAUTH2_PROXY_CLIENT_SECRET', DEX_CLIENTS_SECRET, 'oauth2-proxy'),
    ],
    volumes: [{ name: DEX_TMP.volume, emptyDir: { sizeLimit: DEX_TMP.sizeLimit } }],
    volumeMounts: [{ name: DEX_TMP.volume, mountPath: DEX_TMP.mountPath }],
    resources: dexResources,
    podSecurityContext: restrictedPod(1001),
    securityContext: restrictedContainer,
    ingress: { enabled: false },
    serviceMonitor: { enabled: true },
  };
}

export const dexRelease: ReleaseModule = {
  name: 'dex',
  chart: 'dex',
  namespace: ns.auth.name,
  secrets: () => [
    {
      namespace: ns.auth.name,
      name: DEX_CLIENTS_SECRET,
      keys: [
        { key: 'grafana', generate: 'password' },
        { key: 'oauth2-proxy', generate: 'password' },
      ],
    },
    {
      namespace: ns.auth.name,
      name: DEX_USERS_SECRET,
      keys: staticUsers.flatMap((u) => [
        { key: `${u.secretKey}-password`, generate: 'password' as const },
        { key: `${u.secretKey}-password-hash`, generate: 'bcrypt' as const, from: `${u.secretKey}-password` },
      ]),
    },
  ],
  values: ({ hosts }) => dexValues(hosts),
  footprint: () => [{ component: 'dex', replicas: 1, requests: dexResources.requests }],
};
