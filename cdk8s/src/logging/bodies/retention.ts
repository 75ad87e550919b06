import type { estypes } from '@elastic/elasticsearch';
import { names, SNAPSHOT_PATH } from '../names.js';

export const ILM_POLICY = 'courseops-logs';
export const SLM_POLICY = 'nightly-logs';

export interface RetentionOptions {
  /** Days a log index is kept after rollover (default 14). */
  readonly deleteAfterDays: number;
}

export const defaultRetention: RetentionOptions = { deleteAfterDays: 14 };

/** Hot until 1 GB (primary shard) or 1 day, then deleted `deleteAfterDays` after rollover. */
export function ilmPolicy(options: RetentionOptions = defaultRetention): estypes.IlmPutLifecycleRequest {
  return {
    name: ILM_POLICY,
    policy: {
      _meta: { managed_by: 'courseops cdk8s (src/logging/bodies/retention.ts)' },
      phases: {
        hot: { min_age: '0ms', actions: { rollover: { max_primary_shard_size: '1gb', max_age: '1d' } } },
        delete: { min_age: `${options.deleteAfterDays}d`, actions: { delete: {} } },
      },
    },
  };
}

/** The `fs` repository on the standalone PVC mounted at `path.repo`. */
export function snapshotRepository(): estypes.SnapshotCreateRepositoryRequest {
  return {
    name: names.snapshotRepository,
    repository: { type: 'fs', settings: { location: SNAPSHOT_PATH, compress: true } },
  };
}

/**
 * Every night at 01:30 UTC, a snapshot of the log data streams (not the cluster state: restoring logs
 * must not roll back users, roles or Kibana); kept 30 days, never fewer than 5 nor more than 50.
 */
export function slmPolicy(): estypes.SlmPutLifecycleRequest {
  return {
    policy_id: SLM_POLICY,
    schedule: '0 30 1 * * ?',
    name: '<logs-{now/d}>',
    repository: names.snapshotRepository,
    config: { indices: ['logs-*'], include_global_state: false, ignore_unavailable: true },
    retention: { expire_after: '30d', min_count: 5, max_count: 50 },
  };
}
