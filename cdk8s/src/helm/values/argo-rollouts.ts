import { resources, restrictedContainer, restrictedPod, type ContainerSecurity, type Footprint, type PodSecurity, type Resources } from '../types.js';

export const rolloutsDashboard = { name: 'argo-rollouts-dashboard', port: 3100 } as const;

/** Argo Rollouts chart values: controller (with metrics) and the dashboard (behind oauth2-proxy). */
export interface ArgoRolloutsValues {
  readonly installCRDs: boolean;
  readonly podSecurityContext: PodSecurity;
  readonly containerSecurityContext: ContainerSecurity;
  readonly controller: {
    readonly replicas: number;
    readonly resources: Resources;
    readonly metrics: { readonly enabled: boolean; readonly serviceMonitor: { readonly enabled: boolean } };
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

const controller = resources('50m', '96Mi', '256Mi');
const dashboard = resources('10m', '48Mi', '128Mi');

export function argoRolloutsValues(): ArgoRolloutsValues {
  return {
    installCRDs: true,
    podSecurityContext: restrictedPod(),
    containerSecurityContext: restrictedContainer,
    controller: { replicas: 1, resources: controller, metrics: { enabled: true, serviceMonitor: { enabled: true } } },
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

export const argoRolloutsFootprint: Footprint[] = [
  { component: 'controller', replicas: 1, requests: controller.requests },
  { component: 'dashboard', replicas: 1, requests: dashboard.requests },
];
