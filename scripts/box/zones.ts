/**
 * A box shaped like a small cloud cluster rather than kind (issue 16): three worker nodes, one in each of
 * three zones, each with its own hostname, InternalIP and pod range, and a default StorageClass that behaves
 * like a cloud provider's block storage (EBS, Azure Disk, Persistent Disk): a claim waits for its first pod,
 * then gets a volume in that pod's zone, and the volume can only be used from that zone afterwards.
 */
import type { BoxNode, BoxTopology } from './control-plane.js';

export const ZONE_LABEL = 'topology.kubernetes.io/zone';
export const REGION_LABEL = 'topology.kubernetes.io/region';
export const HOSTNAME_LABEL = 'kubernetes.io/hostname';

export interface ZoneNode extends BoxNode {
  readonly zone: string;
}

/** Node n (0-based): kind's worker naming, zone-a/b/c, 172.18.0.(3+n) and 10.244.(1+n).0/24 (kind's addressing on a multi-node cluster). */
export function zoneNodes(count = 3): ZoneNode[] {
  if (count < 1 || count > 26) throw new Error(`zoneNodes: count must be 1..26, not ${count}`);
  return Array.from({ length: count }, (_, n) => {
    const name = `courseops-worker${n === 0 ? '' : n + 1}`;
    const zone = `zone-${String.fromCharCode(97 + n)}`;
    return {
      name,
      zone,
      ip: `172.18.0.${3 + n}`,
      podCIDR: `10.244.${1 + n}.0/24`,
      labels: {
        [HOSTNAME_LABEL]: name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        [ZONE_LABEL]: zone,
        [REGION_LABEL]: 'box-region',
      },
      // A typical small cloud worker (4 vCPU, 16 GiB).
      allocatable: { cpu: '4', memory: '16Gi', pods: '110', 'ephemeral-storage': '100Gi' },
    };
  });
}

/** The default class of a cloud cluster's block storage: zonal volumes, bound when the first pod is scheduled. */
export const zonalStorageClass = {
  apiVersion: 'storage.k8s.io/v1',
  kind: 'StorageClass',
  metadata: { name: 'zonal-disk', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
  provisioner: 'disk.csi.box.courseops.dev',
  reclaimPolicy: 'Delete',
  volumeBindingMode: 'WaitForFirstConsumer',
  allowVolumeExpansion: true,
} as const;

/**
 * What a CSI block-storage driver writes into each volume it provisions: node affinity to the zone of the node
 * the scheduler picked for the claim's first pod (the claim's selected-node annotation; kwok's template looks
 * the node's zone up in this table, since it cannot read the Node). The scheduler then keeps every later pod
 * of that claim in that zone, as it does on a cloud cluster.
 */
export function zonalVolumeSpec(nodes: readonly ZoneNode[]): string {
  const lookup = nodes.map((n, i) => `{{ ${i === 0 ? 'if' : 'else if'} eq $node ${JSON.stringify(n.name)} }}${n.zone}`).join('') + '{{ else }}no-zone-for-{{ $node }}{{ end }}';
  return [
    '          {{ $node := index .metadata.annotations "volume.kubernetes.io/selected-node" }}',
    '          nodeAffinity:',
    '            required:',
    '              nodeSelectorTerms:',
    '              - matchExpressions:',
    `                - key: ${ZONE_LABEL}`,
    '                  operator: In',
    '                  values:',
    `                  - ${lookup}`,
  ].join('\n');
}

export interface ZonesTopology extends BoxTopology {
  readonly nodes: readonly ZoneNode[];
}

/** startBox's topology for a box with `count` worker nodes in as many zones. */
export function zonesTopology(count = 3): ZonesTopology {
  const nodes = zoneNodes(count);
  return { nodes, volumes: { storageClass: zonalStorageClass, volumeSpec: zonalVolumeSpec(nodes) } };
}
