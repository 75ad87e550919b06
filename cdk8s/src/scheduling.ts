import type { PlatformConfig } from './config.js';
import type * as k8s from './k8s.js';

export const ZONE_LABEL = 'topology.kubernetes.io/zone';
export const HOSTNAME_LABEL = 'kubernetes.io/hostname';

/**
 * Where a replicated workload's pods may go (the `cluster` profile): no two in one zone while another zone has
 * fewer (required: losing a zone or draining its nodes leaves the others serving), and preferably not two on
 * one node. `matchLabelKeys` counts each revision of a Rollout on its own (its pod-template hash), so a canary's
 * pods are spread as well instead of landing wherever the stable ones left room. Nodes without a zone label are
 * not a zone: on such a cluster set `spreadAcrossZones: false` (the kind profile does).
 */
export function spreadConstraints(config: Pick<PlatformConfig, 'spreadAcrossZones'>, selector: Readonly<Record<string, string>>, revisionLabel: string): k8s.TopologySpreadConstraint[] {
  if (!config.spreadAcrossZones) return [];
  const common = { maxSkew: 1, labelSelector: { matchLabels: { ...selector } }, matchLabelKeys: [revisionLabel] };
  return [
    // Honor: a cordoned (draining) node's zone leaves the count, or with a replica per zone (the HPA's 3-4) the
    // evicted one would fit nowhere until the node is back (the box-zones test shows both).
    { ...common, topologyKey: ZONE_LABEL, whenUnsatisfiable: 'DoNotSchedule', nodeTaintsPolicy: 'Honor' },
    { ...common, topologyKey: HOSTNAME_LABEL, whenUnsatisfiable: 'ScheduleAnyway' },
  ];
}

/** The constraints as a pod spec's field (values of a chart too), or nothing where the profile does not spread. */
export function topologySpread(
  config: Pick<PlatformConfig, 'spreadAcrossZones'>,
  selector: Readonly<Record<string, string>>,
  revisionLabel: string,
): { topologySpreadConstraints?: k8s.TopologySpreadConstraint[] } {
  const constraints = spreadConstraints(config, selector, revisionLabel);
  return constraints.length > 0 ? { topologySpreadConstraints: constraints } : {};
}
