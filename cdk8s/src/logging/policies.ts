import { Construct } from 'constructs';
import { ns } from '../namespaces.js';
import { peers } from '../networking/peers.js';
import { AllowPolicy, API_SERVER_RULE, type Peer, type PolicyRule } from '../networking/policies.js';
import { AGENTS_NAMESPACE, LOGGING_NAMESPACE, labelsOf, ports, selectorOf, type LoggingPart } from './names.js';

const TRANSPORT_PORT = 9300;

/** The logging stack's pods as NetworkPolicy peers. */
export const loggingPeers = {
  elasticsearch: { namespace: LOGGING_NAMESPACE, podLabels: selectorOf('elasticsearch') },
  kibana: { namespace: LOGGING_NAMESPACE, podLabels: selectorOf('kibana') },
  logstash: { namespace: LOGGING_NAMESPACE, podLabels: selectorOf('logstash') },
  bootstrap: { namespace: LOGGING_NAMESPACE, podLabels: selectorOf('bootstrap') },
  filebeat: { namespace: AGENTS_NAMESPACE, podLabels: selectorOf('filebeat') },
  /** The ECK operator: the only workload of elastic-system. */
  eckOperator: { namespace: ns.elastic.name },
} as const satisfies Record<string, Peer>;

const p = loggingPeers;
const rule = (peer: Peer, port: number, why: string): PolicyRule => ({ peers: [peer], ports: [port], why });

/**
 * The flows of the logging stack, and nothing else (both namespaces are default-deny plus DNS):
 * Filebeat -> Logstash 5044 -> Elasticsearch 9200 <- Kibana; the Gateway (Traefik) -> Kibana 5601;
 * the bootstrap Job -> Elasticsearch and Kibana; the ECK operator -> the APIs it manages (9200, 5601,
 * 9600); Filebeat -> the API server (pod metadata).
 */
export const loggingFlows: Record<LoggingPart, { namespace: string; ingress?: PolicyRule[]; egress?: PolicyRule[] }> = {
  elasticsearch: {
    namespace: LOGGING_NAMESPACE,
    ingress: [
      rule(p.logstash, ports.elasticsearch, 'Logstash writes the log data streams'),
      rule(p.kibana, ports.elasticsearch, 'Kibana queries and stores its objects'),
      rule(p.bootstrap, ports.elasticsearch, 'the bootstrap Job writes policies, templates and roles'),
      rule(p.eckOperator, ports.elasticsearch, 'the ECK operator manages the cluster over HTTPS'),
      rule(p.elasticsearch, TRANSPORT_PORT, 'Elasticsearch nodes talk to each other (transport)'),
    ],
    egress: [rule(p.elasticsearch, TRANSPORT_PORT, 'Elasticsearch nodes talk to each other (transport)')],
  },
  kibana: {
    namespace: LOGGING_NAMESPACE,
    ingress: [
      rule(peers.gateway, ports.kibana, 'people reach Kibana through the Gateway (Traefik, HTTPS validated by a BackendTLSPolicy)'),
      rule(p.bootstrap, ports.kibana, 'the bootstrap Job imports the saved objects'),
      rule(p.eckOperator, ports.kibana, 'the ECK operator checks Kibana'),
    ],
    egress: [rule(p.elasticsearch, ports.elasticsearch, 'Kibana uses Elasticsearch')],
  },
  logstash: {
    namespace: LOGGING_NAMESPACE,
    ingress: [
      rule(p.filebeat, ports.beats, 'Filebeat ships container logs'),
      rule(p.eckOperator, ports.logstashApi, 'the ECK operator reads the Logstash API'),
    ],
    egress: [rule(p.elasticsearch, ports.elasticsearch, 'Logstash writes to Elasticsearch')],
  },
  bootstrap: {
    namespace: LOGGING_NAMESPACE,
    egress: [
      rule(p.elasticsearch, ports.elasticsearch, 'the bootstrap Job writes retention, templates and roles'),
      rule(p.kibana, ports.kibana, 'the bootstrap Job imports the saved objects'),
    ],
  },
  filebeat: {
    namespace: AGENTS_NAMESPACE,
    egress: [rule(p.logstash, ports.beats, 'Filebeat ships to Logstash'), { ...API_SERVER_RULE, why: 'Filebeat reads pod metadata from the API server' }],
  },
};

export class LoggingPolicies extends Construct {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    for (const [part, flows] of Object.entries(loggingFlows) as [LoggingPart, (typeof loggingFlows)[LoggingPart]][]) {
      new AllowPolicy(this, part, {
        namespace: flows.namespace,
        name: `allow-${part}`,
        podLabels: selectorOf(part),
        labels: labelsOf(part),
        ...(flows.ingress ? { ingress: flows.ingress } : {}),
        ...(flows.egress ? { egress: flows.egress } : {}),
      });
    }
  }
}
