/**
 * Rotation: which backups to keep. The newest backup of each of the 7 most recent days that have one,
 * and the newest of each of the 4 most recent ISO weeks that have one (UTC). "Days that have one", not
 * "the last 7 calendar days": when backups stop for a while, rotation still keeps the last good ones
 * instead of deleting everything older than a week (restic's --keep-daily semantics).
 */
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CHECKSUM_EXT, MANIFEST_EXT, parseBackupName, type ParsedName } from './naming.js';

export interface RetentionPolicy {
  readonly daily: number;
  readonly weekly: number;
}

export const DEFAULT_RETENTION: RetentionPolicy = { daily: 7, weekly: 4 };

const dayKey = (d: Date) => d.toISOString().slice(0, 10);

/** ISO 8601 week, e.g. "2026-W48" (weeks start on Monday; week 1 holds the year's first Thursday). */
export function isoWeek(d: Date): string {
  const t = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
  const dayOfWeek = t.getUTCDay() || 7;
  t.setUTCDate(t.getUTCDate() + 4 - dayOfWeek); // the Thursday of the same week decides the year
  const yearStart = Date.UTC(t.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((t.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `${t.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}

export interface RotationPlan {
  readonly keep: string[];
  readonly remove: string[];
}

/**
 * Pure: from file names of one service, the backups to keep and to remove (both newest first). Names that
 * are not backups of `service` appear in neither list: rotation never deletes what it does not recognise.
 */
export function planRotation(names: readonly string[], service: string, policy: RetentionPolicy = DEFAULT_RETENTION): RotationPlan {
  const backups = names
    .map(parseBackupName)
    .filter((p): p is ParsedName => p !== undefined && p.service === service)
    .sort((a, b) => b.at.getTime() - a.at.getTime() || b.name.localeCompare(a.name));
  const keep = new Set<string>();
  const newestPer = (key: (d: Date) => string, count: number) => {
    const seen = new Set<string>();
    for (const b of backups) {
      const k = key(b.at);
      if (seen.has(k)) continue;
      if (seen.size >= count) break;
      seen.add(k);
      keep.add(b.name);
    }
  };
  newestPer(dayKey, policy.daily);
  newestPer(isoWeek, policy.weekly);
  return {
    keep: backups.filter((b) => keep.has(b.name)).map((b) => b.name),
    remove: backups.filter((b) => !keep.has(b.name)).map((b) => b.name),
  };
}

/** Applies the plan to a directory: removes each dropped backup with its checksum and manifest. */
export function rotate(dir: string, service: string, policy: RetentionPolicy = DEFAULT_RETENTION): RotationPlan {
  const plan = planRotation(readdirSync(dir), service, policy);
  for (const name of plan.remove) {
    for (const file of [name, `${name}${CHECKSUM_EXT}`, `${name}${MANIFEST_EXT}`]) rmSync(join(dir, file), { force: true });
  }
  return plan;
}
