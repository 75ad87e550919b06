import { TRAEFIK_NAMESPACE, traefikPodLabels } from '../helm/releases/traefik.js';
import { ns } from '../namespaces.js';
import type { Peer } from './policies.js';

/** Well-known pods of the platform, by the labels their charts or operators set. */
export const peers = {
  /** Traefik's pods (chart traefik, release "traefik"): the Gateway's data plane, the only way in from outside. */
  gateway: { namespace: TRAEFIK_NAMESPACE, podLabels: traefikPodLabels },
  /** Prometheus pods created by the Prometheus Operator. */
  prometheus: { namespace: ns.monitoring.name, podLabels: { 'app.kubernetes.io/name': 'prometheus' } },
  /** Alertmanager pods created by the Prometheus Operator. */
  alertmanager: { namespace: ns.monitoring.name, podLabels: { 'app.kubernetes.io/name': 'alertmanager' } },
  /** Grafana (subchart of kube-prometheus-stack). */
  grafana: { namespace: ns.monitoring.name, podLabels: { 'app.kubernetes.io/name': 'grafana' } },
  /** Blackbox exporter (chart prometheus-blackbox-exporter, release of the same name): the prober of the Probes. */
  blackboxExporter: { namespace: ns.monitoring.name, podLabels: { 'app.kubernetes.io/name': 'prometheus-blackbox-exporter' } },
  /** The backup and restore Jobs of every database (src/data/backup.ts): they push their metrics to the Pushgateway. */
  backupJobs: { namespace: ns.apps.name, podLabels: { 'app.kubernetes.io/name': 'backup' } },
  /** Argo Rollouts controller (runs analysis queries against Prometheus). */
  rolloutsController: { namespace: ns.rollouts.name, podLabels: { 'app.kubernetes.io/name': 'argo-rollouts' } },
} as const satisfies Record<string, Peer>;
