import type { PlatformConfig } from './config.js';
import * as k8s from './k8s.js';

/**
 * Every volume the platform claims: ReadWriteOnce (one pod writes it) of the configured StorageClass, or of the
 * cluster's default one when the config names none (kind's `standard`; the bring-up checks that a default exists).
 */
/** The claim's `storageClassName` when the config names a class; nothing (the cluster's default) when it does not. */
export const storageClassName = (config: Pick<PlatformConfig, 'storageClass'>): { storageClassName?: string } =>
  config.storageClass ? { storageClassName: config.storageClass } : {};

export function volumeClaimSpec(config: Pick<PlatformConfig, 'storageClass'>, size: string): k8s.PersistentVolumeClaimSpec {
  return {
    accessModes: ['ReadWriteOnce'],
    ...storageClassName(config),
    resources: { requests: { storage: k8s.Quantity.fromString(size) } },
  };
}
