import type * as k8s from 'cdk8s-plus-27/lib/imports/k8s.js';

/**
 * The one place that hardens pods: every pod template the app writes goes through `hardenPodSpec`.
 * (cdk8s-plus cannot express `capabilities.drop: [ALL]` or seccomp; the app uses the low-level k8s
 * types instead, and this function is where the Pod Security `restricted` profile is applied.)
 *
 * - pod: runAsNonRoot, a numeric uid/gid, fsGroup, seccomp RuntimeDefault, no service account token,
 *   no service links (env vars for every Service in the namespace);
 * - every container and init container: no privilege escalation, read-only root filesystem,
 *   drop ALL capabilities, runAsNonRoot, seccomp RuntimeDefault.
 */
export interface RunAs {
  readonly uid: number;
  readonly gid: number;
}

export const RUNTIME_DEFAULT_SECCOMP = { type: 'RuntimeDefault' } as const;

/**
 * The container half of the Pod Security `restricted` profile as plain data: the app's pods
 * (`restrictedContainerSecurityContext`) and the Helm values of the charts (helm/types.ts) both take it.
 */
export const RESTRICTED_CONTAINER = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  capabilities: { drop: ['ALL'] },
  seccompProfile: RUNTIME_DEFAULT_SECCOMP,
} as const;

export function restrictedContainerSecurityContext(runAs?: RunAs): k8s.SecurityContext {
  return {
    ...RESTRICTED_CONTAINER,
    ...(runAs ? { runAsUser: runAs.uid, runAsGroup: runAs.gid } : {}),
    capabilities: { drop: [...RESTRICTED_CONTAINER.capabilities.drop] },
    seccompProfile: { ...RUNTIME_DEFAULT_SECCOMP },
  };
}

export function restrictedPodSecurityContext(runAs: RunAs): k8s.PodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: runAs.uid,
    runAsGroup: runAs.gid,
    fsGroup: runAs.gid,
    fsGroupChangePolicy: 'OnRootMismatch',
    seccompProfile: RUNTIME_DEFAULT_SECCOMP,
  };
}

/** Returns the pod spec with the restricted security settings applied (container settings win over none). */
export function hardenPodSpec(spec: k8s.PodSpec, runAs: RunAs): k8s.PodSpec {
  const harden = (c: k8s.Container): k8s.Container => ({
    ...c,
    securityContext: { ...restrictedContainerSecurityContext(), ...c.securityContext, capabilities: { drop: ['ALL'] } },
  });
  return {
    ...spec,
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    securityContext: { ...restrictedPodSecurityContext(runAs), ...spec.securityContext },
    containers: spec.containers.map(harden),
    ...(spec.initContainers ? { initContainers: spec.initContainers.map(harden) } : {}),
  };
}
