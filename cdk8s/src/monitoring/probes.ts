import { ApiObject, Chart } from 'cdk8s';
import type { Construct } from 'constructs';
import { blackboxService, INGRESS_PROBE_MODULE } from '../helm/releases/prometheus-blackbox-exporter.js';
import type { Hosts } from '../hosts.js';
import { appLabels } from '../labels.js';
import { ns } from '../namespaces.js';
import type { ServiceDecl } from '../services.js';

export const PROBE_INTERVAL = '30s';

export interface EndpointProbeTarget {
  readonly service: string;
  /** The public URL: the service's host and ingress path (services.ts `ingress`). */
  readonly url: string;
}

/** One target per service with a public route: its URL through the Gateway (Traefik). */
export function endpointProbeTargets(services: readonly ServiceDecl[], hosts: Hosts): EndpointProbeTarget[] {
  return services.flatMap((s) => (s.ingress ? [{ service: s.name, url: `https://${hosts[s.ingress.host]}${s.ingress.path}` }] : []));
}

export interface ProbesChartProps {
  readonly services: readonly ServiceDecl[];
  readonly hosts: Hosts;
}

/**
 * Prometheus Operator Probes (monitoring.coreos.com/v1) of the public endpoints, in the monitoring
 * namespace: Prometheus asks the blackbox exporter (release prometheus-blackbox-exporter) to fetch each
 * URL every 30 s. The `service` label is what EndpointProbeFailing selects (`probe_success{service="<name>"}`).
 */
export class ProbesChart extends Chart {
  constructor(scope: Construct, id: string, props: ProbesChartProps) {
    super(scope, id, { namespace: ns.monitoring.name });
    for (const t of endpointProbeTargets(props.services, props.hosts)) {
      new ApiObject(this, `${t.service}-endpoint`, {
        apiVersion: 'monitoring.coreos.com/v1',
        kind: 'Probe',
        metadata: {
          name: `${t.service}-endpoint`,
          namespace: ns.monitoring.name,
          labels: appLabels({ name: 'courseops-probes', instance: 'courseops-probes', component: 'monitoring' }),
        },
        spec: {
          interval: PROBE_INTERVAL,
          scrapeTimeout: '10s',
          module: INGRESS_PROBE_MODULE,
          prober: { url: `${blackboxService.name}.${blackboxService.namespace}.svc:${blackboxService.port}`, scheme: 'http', path: '/probe' },
          targets: { staticConfig: { static: [t.url], labels: { service: t.service } } },
        },
      });
    }
  }
}
