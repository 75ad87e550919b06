import { Construct } from 'constructs';
import {
  Elasticsearch,
  ElasticsearchSpecNodeSetsVolumeClaimTemplatesSpecResourcesRequests,
  type ElasticsearchSpecNodeSetsPodTemplate,
} from '../../imports/elasticsearch-elasticsearch.k8s.elastic.co.js';
import * as k8s from '../k8s.js';
import { ELASTIC_RUN_AS, ELASTICSEARCH_IMAGE, LOGGING_NAMESPACE, STACK_VERSION, SNAPSHOT_PATH, labelsOf, names } from './names.js';
import { eckPodTemplate } from './pod-template.js';
import { resourceRequirements } from '../resources.js';
import { elasticsearchSizing, storage } from './sizing.js';
import type { PlatformConfig } from '../config.js';
import { storageClassName, volumeClaimSpec } from '../storage.js';

export interface LogStoreProps {
  /** Secrets of ECK's file realm (kubernetes.io/basic-auth: username, password, roles), see users.ts. */
  readonly fileRealmSecrets: readonly string[];
  /** Its size and the StorageClass of its volumes. */
  readonly config: Pick<PlatformConfig, 'elasticsearch' | 'storageClass'>;
}

/**
 * The log store: one Elasticsearch node (kind has one node; `number_of_replicas: 0` comes from the
 * `logs@custom` component template the bootstrap Job writes, or every index stays yellow). TLS on the
 * HTTP layer with ECK's self-signed CA; users from the file realm only (no password in git or dist/).
 * The `fs` snapshot repository lives on a standalone PVC mounted at `path.repo`, so snapshots outlive
 * the data volume (deleting the Elasticsearch resource keeps them).
 */
export class LogStore extends Construct {
  constructor(scope: Construct, id: string, props: LogStoreProps) {
    super(scope, id);
    const labels = labelsOf('elasticsearch');
    const size = elasticsearchSizing(props.config.elasticsearch);

    new k8s.KubePersistentVolumeClaim(this, 'SnapshotClaim', {
      metadata: { name: names.snapshotClaim, namespace: LOGGING_NAMESPACE, labels },
      spec: volumeClaimSpec(props.config, storage.snapshots),
    });

    const podTemplate = eckPodTemplate<ElasticsearchSpecNodeSetsPodTemplate>(
      labels,
      {
        containers: [
          {
            // ECK merges this with its own container of the same name (image, ports, probes, config mounts).
            name: 'elasticsearch',
            resources: resourceRequirements(size.resources),
            env: [{ name: 'ES_JAVA_OPTS', value: `-Xms${size.heap} -Xmx${size.heap}` }],
            volumeMounts: [{ name: 'snapshots', mountPath: SNAPSHOT_PATH }],
          },
        ],
        volumes: [{ name: 'snapshots', persistentVolumeClaim: { claimName: names.snapshotClaim } }],
      },
      ELASTIC_RUN_AS,
    );

    new Elasticsearch(this, 'Resource', {
      metadata: { name: names.elasticsearch, namespace: LOGGING_NAMESPACE, labels },
      spec: {
        version: STACK_VERSION,
        image: ELASTICSEARCH_IMAGE,
        http: {}, // TLS on, certificate from ECK's self-signed CA (`logs-es-http-certs-public`).
        auth: { fileRealm: props.fileRealmSecrets.map((secretName) => ({ secretName })) },
        nodeSets: [
          {
            name: 'default',
            count: 1,
            config: {
              'node.roles': ['master', 'data', 'ingest'],
              // kind nodes keep the default vm.max_map_count; mmap off avoids a privileged sysctl init container.
              'node.store.allow_mmap': false,
              'path.repo': [SNAPSHOT_PATH],
            },
            podTemplate,
            volumeClaimTemplates: [
              {
                metadata: { name: 'elasticsearch-data' },
                spec: {
                  accessModes: ['ReadWriteOnce'],
                  ...storageClassName(props.config),
                  resources: { requests: { storage: ElasticsearchSpecNodeSetsVolumeClaimTemplatesSpecResourcesRequests.fromString(props.config.elasticsearch.storage) } },
                },
              },
            ],
          },
        ],
      },
    });
  }
}
