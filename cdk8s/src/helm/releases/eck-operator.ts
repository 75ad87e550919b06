import { ns } from '../../namespaces.js';
import type { ReleaseModule } from '../release.js';
import { resources, restrictedContainer, restrictedPod, type ContainerSecurity, type PodSecurity, type Resources } from '../types.js';

/** ECK operator chart values. The Elastic Stack objects (Elasticsearch, Kibana, Beats) come with the logging issue. */
export interface EckOperatorValues {
  readonly installCRDs: boolean;
  readonly replicaCount: number;
  readonly resources: Resources;
  readonly podSecurityContext: PodSecurity;
  readonly securityContext: ContainerSecurity;
  readonly telemetry: { readonly disabled: boolean };
}

const operator = resources('50m', '128Mi', '512Mi');

export function eckOperatorValues(): EckOperatorValues {
  return {
    installCRDs: true,
    replicaCount: 1,
    resources: operator,
    podSecurityContext: restrictedPod(),
    securityContext: restrictedContainer,
    // No outbound network on a laptop cluster; nothing to report to.
    telemetry: { disabled: true },
  };
}

export const eckOperatorRelease: ReleaseModule = {
  name: 'eck-operator',
  chart: 'eck-operator',
  namespace: ns.elastic.name,
  values: () => eckOperatorValues(),
  footprint: () => [{ component: 'operator', replicas: 1, requests: operator.requests }],
};
