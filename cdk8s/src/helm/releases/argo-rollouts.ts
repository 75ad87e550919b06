import { ns } from '../../namespaces.js';
import type { ReleaseModule } from '../release.js';
import { resources, restrictedContainer, restrictedPod, type ContainerSecurity, type PodSecurity, type Resources } from '../types.js';

export const rolloutsDashboard = { name: 'argo-rollouts-dashboard', port: 3100 } as const;

/**
 * The Argo Rollouts Gateway API traffic-router plugin (argoproj-labs/rollouts-plugin-trafficrouter-gatewayapi),
 * installed as its docs/installation.md at v0.15.0 describes ("Installing the plugin via init containers"):
 * an init container copies the binary out of the plugin's image into an emptyDir, and the controller loads it
 * from a file:// location. Argo Rollouts checks a sha256 only for http(s) locations (utils/plugin/downloader.go
 * in v1.9.0), so the image tag is the pin here.
 */
export const gatewayApiPlugin = {
  /** The name Rollouts use under trafficRouting.plugins, and the controller's config map lists. */
  name: 'argoproj-labs/gatewayAPI',
  version: 'v0.15.0',
  image: 'ghcr.io/argoproj-labs/rollouts-plugin-trafficrouter-gatewayapi:v0.15.0',
  /** Where the image's Dockerfile (v0.15.0) puts the binary: `COPY ... /bin/`. */
  binaryInImage: '/bin/rollouts-plugin-trafficrouter-gatewayapi',
  /** The emptyDir the init container fills and the controller reads. */
  volume: 'gatewayapi-plugin',
  dir: '/plugins',
  location: 'file:///plugins/rollouts-plugin-trafficrouter-gatewayapi',
} as const;

/**
 * What the plugin calls, on top of the controller's own rules (docs/installation.md "Permissions", v0.15.0):
 * it reads and rewrites HTTPRoutes (Get + Update in pkg/plugin/httproute.go; List only for route selectors).
 * Services `get` (experiments) is already in the controller's base rules. v0.15.0 keeps no ConfigMap.
 */
export const gatewayApiPluginRules = [
  { apiGroups: ['gateway.networking.k8s.io'], resources: ['httproutes'], verbs: ['get', 'list', 'update', 'patch'] },
] as const;

interface PolicyRule {
  readonly apiGroups: readonly string[];
  readonly resources: readonly string[];
  readonly verbs: readonly string[];
}

interface InitContainer {
  readonly name: string;
  readonly image: string;
  readonly command: readonly string[];
  readonly securityContext: ContainerSecurity;
  readonly resources: Resources;
  readonly volumeMounts: readonly { readonly name: string; readonly mountPath: string }[];
}

/** Argo Rollouts chart values: controller (with metrics and the Gateway API plugin) and the dashboard (behind oauth2-proxy). */
export interface ArgoRolloutsValues {
  readonly installCRDs: boolean;
  readonly podSecurityContext: PodSecurity;
  readonly containerSecurityContext: ContainerSecurity;
  readonly controller: {
    readonly replicas: number;
    readonly resources: Resources;
    readonly metrics: { readonly enabled: boolean; readonly serviceMonitor: { readonly enabled: boolean } };
    readonly trafficRouterPlugins: readonly { readonly name: string; readonly location: string }[];
    readonly initContainers: readonly InitContainer[];
    readonly volumes: readonly { readonly name: string; readonly emptyDir: Record<string, never> }[];
    readonly volumeMounts: readonly { readonly name: string; readonly mountPath: string; readonly readOnly: boolean }[];
  };
  readonly providerRBAC: {
    readonly enabled: boolean;
    readonly providers: Readonly<Record<(typeof chartProviders)[number], boolean>>;
    readonly additionalRules: readonly PolicyRule[];
  };
  readonly dashboard: {
    readonly enabled: boolean;
    readonly readonly: boolean;
    readonly replicas: number;
    readonly resources: Resources;
    readonly podSecurityContext: PodSecurity;
    readonly containerSecurityContext: ContainerSecurity;
    readonly ingress: { readonly enabled: boolean };
  };
}

/**
 * The traffic providers whose RBAC the chart (2.41.0) adds by default. All off: the platform uses none of
 * them, and the chart's `gatewayAPI` set also grants ConfigMap writes the plugin no longer needs; the
 * plugin's own rules come through `additionalRules` (which the chart renders only with `enabled: true`).
 */
const chartProviders = ['istio', 'smi', 'ambassador', 'awsLoadBalancerController', 'awsAppMesh', 'traefik', 'apisix', 'contour', 'glooPlatform', 'gatewayAPI'] as const;

const controller = resources('50m', '96Mi', '256Mi');
const dashboard = resources('10m', '48Mi', '128Mi');
const pluginCopy = resources('10m', '16Mi', '32Mi');

export function argoRolloutsValues(): ArgoRolloutsValues {
  return {
    installCRDs: true,
    podSecurityContext: restrictedPod(),
    containerSecurityContext: restrictedContainer,
    controller: {
      replicas: 1,
      resources: controller,
      metrics: { enabled: true, serviceMonitor: { enabled: true } },
      trafficRouterPlugins: [{ name: gatewayApiPlugin.name, location: gatewayApiPlugin.location }],
      initContainers: [
        {
          name: 'copy-gatewayapi-plugin',
          image: gatewayApiPlugin.image,
          // No shell needed: the image's base (alpine 3.19) has /bin/cp, and the image runs as UID 999.
          command: ['/bin/cp', gatewayApiPlugin.binaryInImage, `${gatewayApiPlugin.dir}/`],
          securityContext: restrictedContainer,
          resources: pluginCopy,
          volumeMounts: [{ name: gatewayApiPlugin.volume, mountPath: gatewayApiPlugin.dir }],
        },
      ],
      volumes: [{ name: gatewayApiPlugin.volume, emptyDir: {} }],
      // The controller only copies the binary into its own plugin-bin folder at start.
      volumeMounts: [{ name: gatewayApiPlugin.volume, mountPath: gatewayApiPlugin.dir, readOnly: true }],
    },
    providerRBAC: {
      enabled: true,
      providers: Object.fromEntries(chartProviders.map((p) => [p, false])) as Record<(typeof chartProviders)[number], boolean>,
      additionalRules: gatewayApiPluginRules,
    },
    dashboard: {
      enabled: true,
      readonly: false,
      replicas: 1,
      resources: dashboard,
      podSecurityContext: restrictedPod(),
      containerSecurityContext: restrictedContainer,
      ingress: { enabled: false },
    },
  };
}

/** The init container ends before the controller starts and asks for less than it: the pod's requests are the controller's. */

export const argoRolloutsRelease: ReleaseModule = {
  name: 'argo-rollouts',
  chart: 'argo-rollouts',
  namespace: ns.rollouts.name,
  values: () => argoRolloutsValues(),
  footprint: () => [
  { component: 'controller', replicas: 1, requests: controller.requests },
  { component: 'dashboard', replicas: 1, requests: dashboard.requests },
],
};
