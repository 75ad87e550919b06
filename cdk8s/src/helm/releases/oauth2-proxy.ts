import type { Hosts } from '../../hosts.js';
import { ns } from '../../namespaces.js';
import type { ReleaseModule } from '../release.js';
import { resources, type Resources } from '../types.js';
import { DEX_CLIENTS_SECRET, dexInternalUrl, groups } from './dex.js';

export const OAUTH2_PROXY_SECRET = 'oauth2-proxy';
export const oauth2ProxyService = { name: 'oauth2-proxy', port: 80 } as const;

/**
 * oauth2-proxy chart values: OIDC against Dex for the Prometheus, Alertmanager and Argo Rollouts UIs
 * (Traefik ForwardAuth, src/gateway/forward-auth.ts: the static://202 upstream and reverse_proxy are what
 * that integration needs). The browser is sent to the public Dex host; the code exchange
 * and key fetch use Dex's in-cluster Service, so oauth2-proxy needs no trust in the platform CA.
 */
export interface OAuth2ProxyValues {
  readonly config: { readonly existingSecret: string; readonly configFile: string };
  readonly replicaCount: number;
  readonly resources: Resources;
  readonly podDisruptionBudget: { readonly enabled: boolean };
  readonly metrics: { readonly enabled: boolean; readonly serviceMonitor: { readonly enabled: boolean } };
  readonly ingress: { readonly enabled: boolean };
  readonly sessionStorage: { readonly type: 'cookie' };
}

const proxyResources = resources('10m', '32Mi', '128Mi');

const toml = (entries: Record<string, string | boolean | readonly string[]>) =>
  Object.entries(entries)
    .map(([k, v]) => `${k} = ${Array.isArray(v) ? `[${v.map((x) => JSON.stringify(x)).join(', ')}]` : JSON.stringify(v)}`)
    .join('\n');

export function oauth2ProxyValues(h: Hosts, dexInternalUrl: string, domain: string): OAuth2ProxyValues {
  return {
    config: {
      existingSecret: OAUTH2_PROXY_SECRET,
      configFile: toml({
        provider: 'oidc',
        provider_display_name: 'Dex',
        oidc_issuer_url: `https://${h.dex}`,
        skip_oidc_discovery: true,
        login_url: `https://${h.dex}/auth`,
        redeem_url: `${dexInternalUrl}/token`,
        oidc_jwks_url: `${dexInternalUrl}/keys`,
        scope: 'openid email profile groups',
        email_domains: ['*'],
        allowed_groups: [groups.admins, groups.viewers],
        upstreams: ['static://202'],
        reverse_proxy: true,
        set_xauthrequest: true,
        skip_provider_button: true,
        // Without it oauth2-proxy v7.15.3 sends approval_prompt=force (its legacy default), and Dex then shows
        // its "Grant Access" page on every sign-in despite skipApprovalScreen (server/oauth2.go at v2.45.1:
        // ForceApprovalPrompt). Found by the box's sign-in test.
        approval_prompt: 'auto',
        cookie_secure: true,
        cookie_domains: [`.${domain}`],
        whitelist_domains: [`.${domain}`],
      }),
    },
    replicaCount: 1,
    resources: proxyResources,
    podDisruptionBudget: { enabled: false },
    metrics: { enabled: true, serviceMonitor: { enabled: true } },
    ingress: { enabled: false },
    sessionStorage: { type: 'cookie' },
  };
}

export const oauth2ProxyRelease: ReleaseModule = {
  name: 'oauth2-proxy',
  chart: 'oauth2-proxy',
  namespace: ns.auth.name,
  secrets: () => [
    {
      namespace: ns.auth.name,
      name: OAUTH2_PROXY_SECRET,
      keys: [
        { key: 'client-id', value: 'oauth2-proxy' },
        { key: 'client-secret', copyFrom: { namespace: ns.auth.name, name: DEX_CLIENTS_SECRET, key: 'oauth2-proxy' } },
        { key: 'cookie-secret', generate: 'password' },
      ],
    },
  ],
  values: ({ hosts, config }) => oauth2ProxyValues(hosts, dexInternalUrl, config.domain),
  footprint: () => [{ component: 'oauth2-proxy', replicas: 1, requests: proxyResources.requests }],
};
