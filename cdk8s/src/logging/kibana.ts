import { Construct } from 'constructs';
import { Kibana, type KibanaSpecPodTemplate } from '../../imports/kibana-kibana.k8s.elastic.co.js';
import { BackendTlsPolicy } from '../gateway/backend-tls.js';
import { HostRoute } from '../gateway/host-route.js';
import { ELASTIC_RUN_AS, LOGGING_NAMESPACE, STACK_VERSION, caSecrets, labelsOf, names, ports } from './names.js';
import { eckPodTemplate } from './pod-template.js';
import { resourceRequirements } from '../resources.js';
import { sizing } from './sizing.js';

export interface LogUiProps {
  /** Public host name (hosts.ts `kibana`). */
  readonly host: string;
}

/** ECK's HTTP Service of the Kibana (`<name>-kb-http`) and the name its self-signed certificate carries. */
export const kibanaHttpService = `${names.kibana}-kb-http`;
export const kibanaCertificateName = `${kibanaHttpService}.${LOGGING_NAMESPACE}.svc`;

/**
 * Kibana, connected to the log store by ECK (its own service account token, the cluster CA), routed by the
 * Gateway on the reserved `kibana` host with TLS from the platform CA. Everything in Kibana needs a login:
 * Elasticsearch security is on, and the users are the file realm's (users.ts).
 *
 * Kibana keeps its own HTTPS (ECK's self-signed certificate) and Traefik validates it, rather than ECK's
 * HTTP TLS being turned off: a BackendTLSPolicy (Gateway API v1.6.1 standard channel) names ECK's public CA
 * Secret `<name>-kb-http-certs-public` (key `ca.crt`, in Kibana's namespace as the policy requires) and the
 * name `<name>-kb-http.<namespace>.svc`, one of the DNS names ECK 3.5.0 puts in the certificate
 * (pkg/controller/common/certificates/http_reconcile.go, GetServiceDNSName). Traefik v3.7.11 reads a Secret's
 * `ca.crt` for it and then speaks https to the Service. So the hop from Traefik to Kibana stays encrypted
 * and authenticated, and the bootstrap Job keeps calling Kibana over HTTPS unchanged.
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

    new HostRoute(this, 'Route', {
      name: names.kibana,
      namespace: LOGGING_NAMESPACE,
      hostKey: 'kibana',
      host: props.host,
      labels,
      rules: [{ path: '/', backends: [{ name: kibanaHttpService, port: ports.kibana }] }],
    });
    new BackendTlsPolicy(this, 'BackendTls', {
      name: kibanaHttpService,
      namespace: LOGGING_NAMESPACE,
      service: kibanaHttpService,
      caSecret: caSecrets.kibana,
      hostname: kibanaCertificateName,
      labels,
    });
  }
}
