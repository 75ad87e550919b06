import { Construct } from 'constructs';
import { Beat, type BeatSpecDaemonSetPodTemplate } from '../../imports/beat-beat.k8s.elastic.co.js';
import * as k8s from '../k8s.js';
import { AGENTS_NAMESPACE, STACK_VERSION, labelsOf, names, urls } from './names.js';
import { eckPodTemplate } from './pod-template.js';
import { resourceRequirements } from '../resources.js';
import { sizing } from './sizing.js';

/** The node's container logs: kubelet's symlinks in /var/log/containers point into /var/log/pods. */
export const CONTAINER_LOGS = '/var/log/containers';
const POD_LOGS = '/var/log/pods';

/**
 * The Filebeat configuration: every container log of the node (CRI format on kind's containerd),
 * decoded as ndjson when a line is JSON (the services' ECS lines: their dotted keys expanded to objects,
 * their `@timestamp` and `message` taking over); any other line stays a plain `message`. Kubernetes
 * metadata (namespace, pod, container, labels) from the API server. Shipped to Logstash's `beats` Service.
 */
export function filebeatConfig(): Record<string, unknown> {
  return {
    'filebeat.inputs': [
      {
        type: 'filestream',
        id: 'kubernetes-container-logs',
        paths: [`${CONTAINER_LOGS}/*.log`],
        'prospector.scanner.symlinks': true,
        parsers: [
          { container: { stream: 'all', format: 'auto' } },
          // A plain line fails to decode and stays a plain `message`: decoding errors are neither logged
          // (ignore_decoding_error) nor added as error.message (add_error_key), plain lines are normal here.
          { ndjson: { target: '', overwrite_keys: true, expand_keys: true, add_error_key: false, ignore_decoding_error: true } },
        ],
        processors: [
          { add_kubernetes_metadata: { host: '${NODE_NAME}', matchers: [{ logs_path: { logs_path: `${CONTAINER_LOGS}/` } }] } },
        ],
      },
    ],
    'output.logstash': { hosts: [urls.logstashBeats] },
  };
}

/**
 * Filebeat as an ECK Beat DaemonSet in its own privileged namespace (it reads the node's log files as
 * root through hostPath), with the RBAC add_kubernetes_metadata needs: read pods, namespaces, nodes and
 * the owners it names (ReplicaSets, Jobs).
 */
export class LogShipper extends Construct {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    const labels = labelsOf('filebeat');
    const namespace = AGENTS_NAMESPACE;
    const name = names.filebeat;

    new k8s.KubeServiceAccount(this, 'ServiceAccount', { metadata: { name, namespace, labels } });
    new k8s.KubeClusterRole(this, 'ClusterRole', {
      metadata: { name: `courseops-${name}`, labels },
      rules: [
        { apiGroups: [''], resources: ['pods', 'namespaces', 'nodes'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['apps'], resources: ['replicasets'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['batch'], resources: ['jobs'], verbs: ['get', 'list', 'watch'] },
      ],
    });
    new k8s.KubeClusterRoleBinding(this, 'ClusterRoleBinding', {
      metadata: { name: `courseops-${name}`, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `courseops-${name}` },
      subjects: [{ kind: 'ServiceAccount', name, namespace }],
    });

    const podTemplate = eckPodTemplate<BeatSpecDaemonSetPodTemplate>(
      labels,
      {
        serviceAccountName: name,
        // Root: the log files under /var/log/pods belong to root (0640). No capability is added: root as
        // the files' owner reads them without CAP_DAC_OVERRIDE.
        securityContext: { runAsNonRoot: false, runAsUser: 0, runAsGroup: 0 },
        containers: [
          {
            name: 'filebeat',
            resources: resourceRequirements(sizing.filebeat),
            env: [{ name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }],
            securityContext: { runAsNonRoot: false, runAsUser: 0, runAsGroup: 0 },
            volumeMounts: [
              { name: 'varlogcontainers', mountPath: CONTAINER_LOGS, readOnly: true },
              { name: 'varlogpods', mountPath: POD_LOGS, readOnly: true },
            ],
          },
        ],
        volumes: [
          { name: 'varlogcontainers', hostPath: { path: CONTAINER_LOGS, type: 'Directory' } },
          { name: 'varlogpods', hostPath: { path: POD_LOGS, type: 'Directory' } },
        ],
      },
      { uid: 0, gid: 0 },
      // add_kubernetes_metadata reads the API server with the service account's token.
      { automountServiceAccountToken: true },
    );

    new Beat(this, 'Resource', {
      metadata: { name, namespace, labels },
      spec: {
        type: 'filebeat',
        version: STACK_VERSION,
        config: filebeatConfig(),
        daemonSet: { podTemplate },
      },
    });
  }
}
