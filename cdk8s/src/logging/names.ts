import { appLabels, selectorLabels } from '../labels.js';
import { ns } from '../namespaces.js';

/**
 * Names shared by the logging constructs, the bootstrap Job and the tests: one place spells them.
 *
 * Elastic Stack 9.4.x is the line ECK 3.5.0 (the pinned operator, ../charts/Chart.yaml) was released
 * with; every component runs the same version (ECK refuses mixed majors between Kibana/Logstash/Beats
 * and Elasticsearch).
 */
export const STACK_VERSION = '9.4.5';

/** The Elasticsearch image: used by ECK for the cluster and by the bootstrap Job for its curl (see bootstrap.ts). */
export const ELASTICSEARCH_IMAGE = `docker.elastic.co/elasticsearch/elasticsearch:${STACK_VERSION}`;

/** uid/gid of the `elasticsearch`, `kibana` and `logstash` users in the official images. */
export const ELASTIC_RUN_AS = { uid: 1000, gid: 1000 } as const;

export const LOGGING_NAMESPACE = ns.logging.name;
export const AGENTS_NAMESPACE = ns.loggingAgents.name;

export const ports = {
  elasticsearch: 9200,
  kibana: 5601,
  beats: 5044,
  logstashApi: 9600,
} as const;

/** Object names: ECK derives its Services from them (`<es>-es-http`, `<kb>-kb-http`, `<ls>-ls-<service>`). */
export const names = {
  elasticsearch: 'logs',
  kibana: 'kibana',
  logstash: 'logstash',
  filebeat: 'filebeat',
  bootstrap: 'logging-bootstrap',
  /** Standalone PVC mounted at `path.repo`: the `fs` snapshot repository survives the cluster's data volume. */
  snapshotClaim: 'logs-snapshots',
  snapshotRepository: 'logs-snapshots',
  /** clusterName of Logstash's elasticsearchRef: ECK exposes `LOGS_ES_HOSTS` and `LOGS_ES_SSL_CERTIFICATE_AUTHORITY`. */
  logstashEsRef: 'logs',
  beatsService: 'beats',
} as const;

/** Where the snapshot PVC is mounted in the Elasticsearch pod (`path.repo`). */
export const SNAPSHOT_PATH = '/usr/share/elasticsearch/snapshots';

/** In-cluster URLs of the HTTPS endpoints ECK creates (self-signed CA in `<name>-es|kb-http-certs-public`). */
export const urls = {
  elasticsearch: `https://${names.elasticsearch}-es-http.${LOGGING_NAMESPACE}.svc:${ports.elasticsearch}`,
  kibana: `https://${names.kibana}-kb-http.${LOGGING_NAMESPACE}.svc:${ports.kibana}`,
  logstashBeats: `${names.logstash}-ls-${names.beatsService}.${LOGGING_NAMESPACE}.svc:${ports.beats}`,
} as const;

export const caSecrets = {
  elasticsearch: `${names.elasticsearch}-es-http-certs-public`,
  kibana: `${names.kibana}-kb-http-certs-public`,
} as const;

/** The labels each component's pods carry (set through the pod templates; ECK keeps them on the pods). */
const parts = {
  elasticsearch: { name: 'elasticsearch', instance: names.elasticsearch, component: 'log-store' },
  kibana: { name: 'kibana', instance: names.kibana, component: 'log-ui' },
  logstash: { name: 'logstash', instance: names.logstash, component: 'log-pipeline' },
  filebeat: { name: 'filebeat', instance: names.filebeat, component: 'log-shipper' },
  bootstrap: { name: 'logging-bootstrap', instance: names.bootstrap, component: 'log-bootstrap' },
} as const;
export type LoggingPart = keyof typeof parts;

/** Full label set of a part's objects and pods. */
export const labelsOf = (part: LoggingPart): Record<string, string> => appLabels({ ...parts[part], version: STACK_VERSION });
/** The labels that select a part's pods (NetworkPolicies). */
export const selectorOf = (part: LoggingPart): Record<string, string> => selectorLabels(parts[part]);
