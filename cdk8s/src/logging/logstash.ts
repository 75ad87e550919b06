import { Construct } from 'constructs';
import {
  Logstash,
  LogstashSpecServicesServiceSpecPortsTargetPort,
  LogstashSpecVolumeClaimTemplatesSpecResourcesRequests,
  type LogstashSpecPodTemplate,
} from '../../imports/logstash-logstash.k8s.elastic.co.js';
import { ELASTIC_RUN_AS, LOGGING_NAMESPACE, STACK_VERSION, labelsOf, names, ports } from './names.js';
import { eckPodTemplate } from './pod-template.js';
import { resourceRequirements } from '../resources.js';
import { fieldRef, render, sprintf, type Condition, type PipelineDef, type Plugin } from './pipeline.js';
import { heaps, sizing, storage } from './sizing.js';
import type { PlatformConfig } from '../config.js';
import { storageClassName } from '../storage.js';
import { users } from './users.js';

/** Access-log paths that are not user traffic: kubelet probes and Prometheus scrapes (API.md). */
export const NOISE_PATHS = ['/healthz', '/readyz', '/metrics'] as const;

/** Where the main pipeline's dead letter queue lives: on Logstash's data PVC, so it survives a restart. */
export const DLQ_PATH = '/usr/share/logstash/data/dead_letter_queue';
export const MAIN_PIPELINE = 'main';
export const DLQ_PIPELINE = 'dead-letters';
/** The data stream rejected documents end up in, reduced to their message and the reason (logs-<dataset>-<namespace>). */
export const DLQ_DATASET = 'dead_letter';

/** Name of the init container ECK adds to Logstash pods (pkg/controller/logstash/initcontainer.go). */
export const LOGSTASH_INIT_CONTAINER = 'logstash-internal-init-config';

/** Env vars of the Logstash container the outputs read (ECK's elasticsearchRef gives hosts and CA). */
const env = {
  hosts: `${names.logstashEsRef.toUpperCase()}_ES_HOSTS`,
  ca: `${names.logstashEsRef.toUpperCase()}_ES_SSL_CERTIFICATE_AUTHORITY`,
  user: 'LOG_WRITER_USERNAME',
  password: 'LOG_WRITER_PASSWORD',
} as const;

const f = {
  serviceName: ['service', 'name'],
  environment: ['service', 'environment'],
  containerName: ['kubernetes', 'container', 'name'],
  k8sNamespace: ['kubernetes', 'namespace'],
  urlPath: ['url', 'path'],
  logLevel: ['log', 'level'],
  status: ['http', 'response', 'status_code'],
  dsDataset: ['data_stream', 'dataset'],
  dsNamespace: ['data_stream', 'namespace'],
} as const;

/** An error line: level error/fatal in the service's log, or a 5xx answer in its access log. */
export const IS_ERROR: Condition = { any: [{ in: f.logLevel, values: ['error', 'fatal'] }, { atLeast: f.status, value: 500 }] };

const mutate = (settings: Plugin['settings'], why?: string): Plugin => ({ plugin: 'mutate', settings, ...(why ? { why } : {}) });

/**
 * Writes to `logs-<dataset>-<namespace>` data streams: the elasticsearch output routes each event by
 * its `data_stream.*` fields. Authenticated as the `log-writer` file realm user.
 */
const elasticsearchOutput: Plugin = {
  plugin: 'elasticsearch',
  settings: {
    hosts: [`\${${env.hosts}}`],
    ssl_enabled: true,
    ssl_certificate_authorities: [`\${${env.ca}}`],
    user: `\${${env.user}}`,
    password: `\${${env.password}}`,
    data_stream: 'true',
  },
  why: 'data streams logs-<service>-<namespace>, as the log-writer user over TLS',
};

/**
 * Data stream names allow lower case letters, digits and `_` in dataset and namespace (no `-`). Two
 * mutates: within one, mutate runs gsub before lowercase whatever the order written.
 */
const sanitizeDataStream: Plugin[] = [
  mutate({ lowercase: [fieldRef(f.dsDataset), fieldRef(f.dsNamespace)] }, 'data stream names: lower case, no dashes'),
  mutate({ gsub: [fieldRef(f.dsDataset), '[^a-z0-9_.]', '_', fieldRef(f.dsNamespace), '[^a-z0-9_]', '_'] }),
];

export function mainPipeline(environment: string): PipelineDef {
  return {
    settings: {
      'pipeline.id': MAIN_PIPELINE,
      'pipeline.workers': 1,
      'dead_letter_queue.enable': true,
      'dead_letter_queue.max_bytes': '256mb',
      'path.dead_letter_queue': DLQ_PATH,
    },
    input: [{ plugin: 'beats', settings: { port: ports.beats }, why: 'Filebeat on every node' }],
    filter: [
      {
        why: 'ECS JSON lines (the services; Filebeat has decoded them): service.name is set. Anything else is a plain line, named after its container.',
        if: { exists: f.serviceName },
        then: [mutate({ add_tag: ['ecs'] })],
        else: [
          mutate({ add_tag: ['plain'] }),
          {
            if: { exists: f.containerName },
            then: [mutate({ replace: { [`[service][name]`]: sprintf(f.containerName) } })],
            else: [mutate({ replace: { [`[service][name]`]: 'unknown' } })],
          },
        ],
      },
      {
        why: 'access lines of health checks and metrics scrapes carry no user traffic',
        if: { in: f.urlPath, values: NOISE_PATHS },
        then: [{ plugin: 'drop', settings: {} }],
      },
      { why: 'errors: level error/fatal or a 5xx answer', if: IS_ERROR, then: [mutate({ add_tag: ['error'] })] },
      mutate({ replace: { '[service][environment]': environment } }, 'the environment the logs come from'),
      mutate({ replace: { '[data_stream][type]': 'logs', '[data_stream][dataset]': sprintf(f.serviceName) } }, 'route: logs-<service>-<namespace>'),
      {
        if: { exists: f.k8sNamespace },
        then: [mutate({ replace: { '[data_stream][namespace]': sprintf(f.k8sNamespace) } })],
        else: [mutate({ replace: { '[data_stream][namespace]': 'default' } })],
      },
      ...sanitizeDataStream,
    ],
    output: [elasticsearchOutput],
  };
}

/**
 * Documents Elasticsearch rejected (a mapping conflict, say) go to the main pipeline's dead letter
 * queue; this pipeline reads them back, keeps only the timestamp and the message, records why they were
 * rejected, and writes them to `logs-dead_letter-logging`, where they can no longer conflict.
 */
export function deadLetterPipeline(environment: string): PipelineDef {
  return {
    settings: { 'pipeline.id': DLQ_PIPELINE, 'pipeline.workers': 1, 'dead_letter_queue.enable': false },
    input: [
      {
        plugin: 'dead_letter_queue',
        settings: { path: DLQ_PATH, pipeline_id: MAIN_PIPELINE, commit_offsets: true, clean_consumed: true },
        why: 'what Elasticsearch rejected from the main pipeline',
      },
    ],
    filter: [
      { plugin: 'prune', settings: { whitelist_names: ['^@timestamp$', '^message$'] }, why: 'drop the fields that were rejected' },
      mutate(
        {
          replace: {
            '[error][message]': '%{[@metadata][dead_letter_queue][reason]}',
            '[service][environment]': environment,
            '[data_stream][type]': 'logs',
            '[data_stream][dataset]': DLQ_DATASET,
            '[data_stream][namespace]': LOGGING_NAMESPACE,
          },
          add_tag: ['dead_letter'],
        },
        'why it was rejected, and where it goes',
      ),
    ],
    output: [elasticsearchOutput],
  };
}

export interface LogPipelineProps {
  /** Written to every event as `service.environment`. */
  readonly environment: string;
  /** The StorageClass of its data volume. */
  readonly config: Pick<PlatformConfig, 'storageClass'>;
}

/**
 * Logstash: a `beats` Service on 5044 for Filebeat, the pipelines above, an elasticsearchRef to the
 * log store (hosts and CA), and the `log-writer` user from its file realm Secret.
 */
export class LogPipeline extends Construct {
  readonly pipelines: readonly PipelineDef[];

  constructor(scope: Construct, id: string, props: LogPipelineProps) {
    super(scope, id);
    const labels = labelsOf('logstash');
    this.pipelines = [mainPipeline(props.environment), deadLetterPipeline(props.environment)];
    const fromWriter = (key: string) => ({ valueFrom: { secretKeyRef: { name: users.writer.secret, key } } });
    const podTemplate = eckPodTemplate<LogstashSpecPodTemplate>(
      labels,
      {
        containers: [
          {
            name: 'logstash',
            resources: resourceRequirements(sizing.logstash),
            env: [
              { name: 'LS_JAVA_OPTS', value: `-Xms${heaps.logstash} -Xmx${heaps.logstash}` },
              { name: env.user, ...fromWriter('username') },
              { name: env.password, ...fromWriter('password') },
            ],
            // Logstash writes below /usr/share/logstash and /tmp (JRuby's temporary files) beyond the
            // volumes ECK mounts; restricted Pod Security does not require a read-only root.
            securityContext: { readOnlyRootFilesystem: false },
          },
        ],
        // ECK's init container (it copies the configuration into a shared volume) comes with only
        // `privileged: false`; named here, ECK merges it and hardenPodSpec gives it the restricted
        // settings the namespace's Pod Security admission requires.
        initContainers: [{ name: LOGSTASH_INIT_CONTAINER }],
      },
      ELASTIC_RUN_AS,
    );
    new Logstash(this, 'Resource', {
      metadata: { name: names.logstash, namespace: LOGGING_NAMESPACE, labels },
      spec: {
        version: STACK_VERSION,
        count: 1,
        elasticsearchRefs: [{ name: names.elasticsearch, clusterName: names.logstashEsRef }],
        services: [
          {
            name: names.beatsService,
            service: {
              spec: {
                type: 'ClusterIP',
                ports: [{ name: 'beats', port: ports.beats, protocol: 'TCP', targetPort: LogstashSpecServicesServiceSpecPortsTargetPort.fromNumber(ports.beats) }],
              },
            },
          },
        ],
        pipelines: this.pipelines.map((p) => ({ ...p.settings, 'config.string': render(p) })),
        volumeClaimTemplates: [
          {
            metadata: { name: 'logstash-data' },
            spec: {
              accessModes: ['ReadWriteOnce'],
              ...storageClassName(props.config),
              resources: { requests: { storage: LogstashSpecVolumeClaimTemplatesSpecResourcesRequests.fromString(storage.logstashData) } },
            },
          },
        ],
        podTemplate,
      },
    });
  }
}
