import { Construct } from 'constructs';
import { Kibana, type KibanaSpecPodTemplate } from '../../imports/kibana-kibana.k8s.elastic.co.js';
import { TlsIngress } from '../tls/ingress.js';
import { ELASTIC_RUN_AS, LOGGING_NAMESPACE, STACK_VERSION, labelsOf, names, ports } from './names.js';
import { eckPodTemplate } from './pod-template.js';
import { resourceRequirements } from '../resources.js';
import { sizing } from './sizing.js';

export interface LogUiProps {
  /** Public host name (hosts.ts `kibana`). */
  readonly host: string;
}

/**
 * Kibana, connected to the log store by ECK (its own service account token, the cluster CA), behind
 * the ingress controller on the reserved `kibana` host with TLS from the platform CA. Kibana keeps its
 * own HTTPS (ECK's self-signed certificate), so the controller speaks HTTPS to it. Everything in Kibana
 * needs a login: Elasticsearch security is on, and the users are the file realm's (users.ts).
 */
export class LogUi extends Construct {
  constructor(scope: Construct, id: string, props: LogUiProps) {
    super(scope, id);
    const labels = labelsOf('kibana');
    const podTemplate = eckPodTemplate<KibanaSpecPodTemplate>(
      labels,
      {
        containers: [
          {
            name: 'kibana',
            resources: resourceRequirements(sizing.kibana),
            env: [{ name: 'NODE_OPTIONS', value: '--max-old-space-size=1024' }],
            // Read-only root as hardened everywhere: ECK's own default for Kibana containers, with the
            // writable paths (config, data, plugins) on volumes it mounts.
          },
        ],
      },
      ELASTIC_RUN_AS,
    );
    new Kibana(this, 'Resource', {
      metadata: { name: names.kibana, namespace: LOGGING_NAMESPACE, labels },
      spec: {
        version: STACK_VERSION,
        count: 1,
        elasticsearchRef: { name: names.elasticsearch },
        config: {
          'server.publicBaseUrl': `https://${props.host}`,
          // Only the login form of Elasticsearch's realms (file realm users); no anonymous access.
          'xpack.security.authc.providers': { basic: { basic1: { order: 0 } } },
          'telemetry.optIn': false,
          'telemetry.allowChangingOptInStatus': false,
        },
        podTemplate,
      },
    });

    new TlsIngress(this, 'Ingress', {
      name: names.kibana,
      namespace: LOGGING_NAMESPACE,
      host: props.host,
      tlsSecretName: 'kibana-tls',
      labels,
      annotations: { 'nginx.ingress.kubernetes.io/backend-protocol': 'HTTPS' },
      paths: [{ path: '/', service: `${names.kibana}-kb-http`, port: ports.kibana }],
    });
  }
}
