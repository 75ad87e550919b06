/**
 * What makes the box's kwok node look like the kind cluster's node: its name, labels and size, kind's
 * default StorageClass, and the kwok Stages that play kubelet and volume provisioner.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { moduleDir } from './build.js';

/**
 * The kind cluster's one node (kind-config.yaml): its name, labels and a laptop-sized allocatable
 * (the README asks for about 8 GB of memory for Docker). No taint: kind untaints a single control plane.
 */
export const kindNode = {
  name: 'courseops-control-plane',
  labels: {
    'kubernetes.io/hostname': 'courseops-control-plane',
    'kubernetes.io/os': 'linux',
    'kubernetes.io/arch': 'amd64',
    'node-role.kubernetes.io/control-plane': '',
    'node.kubernetes.io/exclude-from-external-load-balancers': '',
    'ingress-ready': 'true',
  },
  allocatable: { cpu: '4', memory: '8Gi', pods: '110', 'ephemeral-storage': '100Gi' },
} as const;

/**
 * kind's default StorageClass (kind's local-path provisioner): claims wait for their first pod, then get a
 * volume on its node. In the box kwok plays the provisioner (kwokStages).
 */
export const kindStorageClass = {
  apiVersion: 'storage.k8s.io/v1',
  kind: 'StorageClass',
  metadata: { name: 'standard', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
  provisioner: 'rancher.io/local-path',
  reclaimPolicy: 'Delete',
  volumeBindingMode: 'WaitForFirstConsumer',
} as const;

/** Which claims kwok's fake volume provisioner serves, and what it puts in each volume it makes. */
export interface VolumeProvisioner {
  /** The StorageClass whose claims it provisions (WaitForFirstConsumer): the box applies it as is. */
  readonly storageClass: { readonly apiVersion: 'storage.k8s.io/v1'; readonly kind: 'StorageClass'; readonly metadata: { readonly name: string }; readonly provisioner: string };
  /** Lines added to the spec of each PersistentVolume it makes (Go template over the claim, 10 spaces in). */
  readonly volumeSpec?: string;
}

/** kind's `standard` class; its volumes carry no node affinity (the kind cluster has one node). */
export const kindVolumes: VolumeProvisioner = { storageClass: kindStorageClass };

/**
 * kwok's Stage files, from its module: nodes become Ready with a lease heartbeat, pods Running, Job
 * pods Succeeded; and its fake volume provisioner, pointed at kind's class (or `volumes`' class) and made
 * to wait, as WaitForFirstConsumer does, until the scheduler has picked a node for the claim.
 */
export function kwokStages(dir: string, volumes: VolumeProvisioner = kindVolumes): string {
  const kwok = moduleDir('kwok', 'sigs.k8s.io/kwok');
  const read = (f: string) => readFileSync(join(kwok, 'kustomize/stage', f), 'utf8').trim();
  const lifecycle = ['node/fast/node-initialize.yaml', 'node/heartbeat-with-lease/node-heartbeat-with-lease.yaml', 'pod/fast/pod-complete.yaml', 'pod/fast/pod-delete.yaml'].map(read);
  const { storageClass } = volumes;
  const volumeStages = ['volume/fast/pvc-provision.yaml', 'volume/fast/pv-bind.yaml', 'volume/fast/pvc-delete.yaml', 'volume/fast/pv-delete.yaml'].map((f) => {
    const text = read(f).replaceAll("'kwok-volume'", `'${storageClass.metadata.name}'`).replaceAll('kwok.x-k8s.io/volume', storageClass.provisioner);
    if (!text.includes(`'${storageClass.metadata.name}'`)) throw new Error(`kwok ${f}: no storage class selector to point at ${storageClass.metadata.name}`);
    if (!f.endsWith('pvc-provision.yaml')) return text;
    const waitForNode = `    - cel:\n        expression: >-\n          has(self.metadata.annotations) && 'volume.kubernetes.io/selected-node' in self.metadata.annotations\n  steps:`;
    if (!/\n {2}steps:/.test(text)) throw new Error(`kwok ${f}: unexpected layout`);
    const waiting = text.replace(/\n {2}steps:/, `\n${waitForNode}`);
    if (!volumes.volumeSpec) return waiting;
    // The PersistentVolume's template: its spec begins with accessModes, 10 spaces in.
    const specStart = '        spec:\n          accessModes:\n';
    if (!waiting.includes(specStart)) throw new Error(`kwok ${f}: no PersistentVolume spec to add to`);
    return waiting.replace(specStart, `        spec:\n${volumes.volumeSpec.trimEnd()}\n          accessModes:\n`);
  });
  const out = join(dir, 'kwok-stages.yaml');
  writeFileSync(out, [...lifecycle, ...podReadiness(read('pod/fast/pod-ready.yaml')), ...volumeStages].join('\n---\n') + '\n');
  return out;
}

/** Pods whose readiness the box probes (the services' pods run a real process: service-pods.ts). */
export const PROBED_POD_LABEL = { key: 'app.kubernetes.io/component', value: 'api' } as const;
/** What the box writes on such a pod once its readiness probe first succeeds; kwok then marks it Ready. */
export const PROBE_PASSED_ANNOTATION = 'box.courseops.dev/readiness-probe-passed';

/**
 * kwok's pod-ready stage makes a pod Running and Ready at once, which is right for pods with no process
 * in the box. A service pod gets a real process, and traffic must not reach it before that process
 * answers, as a kubelet's readiness probe ensures: so such pods become Running (with their IP) but not
 * Ready, and Ready only once the box has seen their readiness probe pass and said so in an annotation.
 */
function podReadiness(podReady: string): string[] {
  const selectorAt = podReady.indexOf('    matchExpressions:\n');
  if (selectorAt < 0 || !podReady.includes('name: pod-ready')) throw new Error('kwok pod-ready.yaml: unexpected layout');
  const withSelector = (name: string, text: string, extra: string) =>
    text.replace('name: pod-ready', `name: ${name}`).replace('    matchExpressions:\n', `    matchExpressions:\n${extra}`);
  const probed = (op: 'In' | 'NotIn') => `    - key: '.metadata.labels["${PROBED_POD_LABEL.key}"]'\n      operator: '${op}'\n      values:\n      - '${PROBED_POD_LABEL.value}'\n`;
  const notReady = podReady.replace(/status: "True"\n(\s+)type: (Ready|ContainersReady)/g, 'status: "False"\n$1type: $2').replace(/ready: true/, 'ready: false');
  if (notReady === podReady) throw new Error('kwok pod-ready.yaml: no Ready condition to hold back');
  const ready = [
    'apiVersion: kwok.x-k8s.io/v1alpha1',
    'kind: Stage',
    'metadata:',
    '  name: pod-probe-passed',
    'spec:',
    '  resourceRef:',
    '    apiGroup: v1',
    '    kind: Pod',
    '  selector:',
    '    matchExpressions:',
    probed('In').trimEnd(),
    "    - key: '.metadata.deletionTimestamp'",
    "      operator: 'DoesNotExist'",
    "    - key: '.status.phase'",
    "      operator: 'In'",
    '      values:',
    "      - 'Running'",
    `    - key: '.metadata.annotations["${PROBE_PASSED_ANNOTATION}"]'`,
    "      operator: 'In'",
    '      values:',
    "      - 'true'",
    `    - key: '.status.conditions.[] | select( .type == "Ready" ) | .status'`,
    "      operator: 'NotIn'",
    '      values:',
    "      - 'True'",
    '  next:',
    '    statusTemplate: |',
    '      {{ $now := Now }}',
    '      conditions:',
    '      - lastTransitionTime: {{ $now | Quote }}',
    '        status: "True"',
    '        type: Ready',
    '      - lastTransitionTime: {{ $now | Quote }}',
    '        status: "True"',
    '        type: ContainersReady',
    '      containerStatuses:',
    '      {{ range .spec.containers }}',
    '      - image: {{ .image | Quote }}',
    '        name: {{ .name | Quote }}',
    '        ready: true',
    '        restartCount: 0',
    '        state:',
    '          running:',
    '            startedAt: {{ $now | Quote }}',
    '      {{ end }}',
  ].join('\n');
  return [withSelector('pod-ready', podReady, probed('NotIn')), withSelector('pod-start-unready', notReady, probed('In')), ready];
}
