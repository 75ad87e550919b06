/**
 * What kwok does not check: a pod whose Secret, ConfigMap or claim is missing runs there anyway, where a
 * kubelet would leave it stuck in ContainerCreating. This lists every object a pod needs that does not
 * exist (optional references excepted).
 */

interface KeyRef { readonly name?: string; readonly optional?: boolean }
interface Container {
  readonly name: string;
  readonly env?: readonly { readonly name: string; readonly valueFrom?: { readonly secretKeyRef?: KeyRef & { key: string }; readonly configMapKeyRef?: KeyRef & { key: string } } }[];
  readonly envFrom?: readonly { readonly secretRef?: KeyRef; readonly configMapRef?: KeyRef }[];
}
interface Volume {
  readonly name: string;
  readonly secret?: { readonly secretName?: string; readonly optional?: boolean };
  readonly configMap?: KeyRef;
  readonly persistentVolumeClaim?: { readonly claimName: string };
  readonly projected?: { readonly sources?: readonly { readonly secret?: KeyRef; readonly configMap?: KeyRef }[] };
}
export interface PodForRefs {
  readonly metadata: { readonly name: string; readonly namespace: string };
  readonly spec: {
    readonly serviceAccountName?: string;
    readonly containers: readonly Container[];
    readonly initContainers?: readonly Container[];
    readonly volumes?: readonly Volume[];
    readonly imagePullSecrets?: readonly { readonly name: string }[];
  };
}

export type RefKind = 'Secret' | 'ConfigMap' | 'ServiceAccount' | 'PersistentVolumeClaim';
export interface Reference { readonly kind: RefKind; readonly namespace: string; readonly name: string; readonly from: string }

/** Every object a pod cannot start without. */
export function podReferences(pod: PodForRefs): Reference[] {
  const ns = pod.metadata.namespace;
  const where = (what: string) => `${ns}/${pod.metadata.name} ${what}`;
  const refs: Reference[] = [{ kind: 'ServiceAccount', namespace: ns, name: pod.spec.serviceAccountName ?? 'default', from: where('serviceAccountName') }];
  const add = (kind: RefKind, ref: KeyRef | undefined, what: string) => {
    if (ref?.name && !ref.optional) refs.push({ kind, namespace: ns, name: ref.name, from: where(what) });
  };
  for (const c of [...(pod.spec.initContainers ?? []), ...pod.spec.containers]) {
    for (const e of c.env ?? []) {
      add('Secret', e.valueFrom?.secretKeyRef, `container ${c.name} env ${e.name}`);
      add('ConfigMap', e.valueFrom?.configMapKeyRef, `container ${c.name} env ${e.name}`);
    }
    for (const e of c.envFrom ?? []) {
      add('Secret', e.secretRef, `container ${c.name} envFrom`);
      add('ConfigMap', e.configMapRef, `container ${c.name} envFrom`);
    }
  }
  for (const v of pod.spec.volumes ?? []) {
    if (v.secret) add('Secret', { name: v.secret.secretName, optional: v.secret.optional }, `volume ${v.name}`);
    add('ConfigMap', v.configMap, `volume ${v.name}`);
    if (v.persistentVolumeClaim) refs.push({ kind: 'PersistentVolumeClaim', namespace: ns, name: v.persistentVolumeClaim.claimName, from: where(`volume ${v.name}`) });
    for (const s of v.projected?.sources ?? []) {
      add('Secret', s.secret, `volume ${v.name} (projected)`);
      add('ConfigMap', s.configMap, `volume ${v.name} (projected)`);
    }
  }
  for (const s of pod.spec.imagePullSecrets ?? []) add('Secret', s, 'imagePullSecrets');
  return refs;
}

/** The references whose object is not in `existing` (keys "Kind namespace/name"). */
export function missingReferences(pods: readonly PodForRefs[], existing: ReadonlySet<string>): Reference[] {
  return pods.flatMap(podReferences).filter((r) => !existing.has(refKey(r.kind, r.namespace, r.name)));
}

export const refKey = (kind: string, namespace: string, name: string) => `${kind} ${namespace}/${name}`;
