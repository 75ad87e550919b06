import type { ReleaseModule } from '../release.js';
import { ns } from '../../namespaces.js';
import { resources, sumRequests, type Resources } from '../types.js';

/** cert-manager chart values (the parts set here). Its pods are already restricted-compliant by default. */
export interface CertManagerValues {
  readonly crds: { readonly enabled: boolean; readonly keep: boolean };
  readonly global: { readonly leaderElection: { readonly namespace: string } };
  /** The controller's ControllerConfiguration (the chart renders it into the controller's config file). */
  readonly config: {
    readonly apiVersion: 'controller.config.cert-manager.io/v1alpha1';
    readonly kind: 'ControllerConfiguration';
    readonly gatewayAPI: { readonly enabled: boolean };
  };
  readonly replicaCount: number;
  readonly resources: Resources;
  readonly prometheus: { readonly enabled: boolean; readonly servicemonitor: { readonly enabled: boolean; readonly interval: string } };
  readonly webhook: { readonly replicaCount: number; readonly resources: Resources };
  readonly cainjector: { readonly replicaCount: number; readonly resources: Resources };
  readonly startupapicheck: { readonly resources: Resources };
}

const controller = resources('10m', '64Mi', '256Mi');
const small = resources('10m', '32Mi', '128Mi');

export function certManagerValues(): CertManagerValues {
  return {
    crds: { enabled: true, keep: true },
    global: { leaderElection: { namespace: ns.certManager.name } },
    // Gateway API support (the gateway-shim): a certificate for every HTTPS listener of a Gateway annotated
    // with cert-manager.io/cluster-issuer (src/gateway/gateway.ts). The chart's values.yaml at v1.21.1
    // documents `config.gatewayAPI.enabled` (GatewayAPIConfig, replacing the deprecated enableGatewayAPI);
    // the ExperimentalGatewayAPISupport feature gate it needs is on by default. The Gateway API CRDs must be
    // installed before cert-manager starts (scripts/cluster/plan.ts).
    config: { apiVersion: 'controller.config.cert-manager.io/v1alpha1', kind: 'ControllerConfiguration', gatewayAPI: { enabled: true } },
    replicaCount: 1,
    resources: controller,
    prometheus: { enabled: true, servicemonitor: { enabled: true, interval: '60s' } },
    webhook: { replicaCount: 1, resources: small },
    cainjector: { replicaCount: 1, resources: controller },
    startupapicheck: { resources: small },
  };
}

export const certManagerRelease: ReleaseModule = {
  name: 'cert-manager',
  chart: 'cert-manager',
  namespace: ns.certManager.name,
  values: () => certManagerValues(),
  footprint: () => [
  { component: 'controller', replicas: 1, requests: controller.requests },
  { component: 'webhook', replicas: 1, requests: small.requests },
  { component: 'cainjector', replicas: 1, requests: sumRequests(controller.requests) },
],
};
