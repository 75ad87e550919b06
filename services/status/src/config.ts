import { commonEnvSchema, intEnv, optionalStringEnv } from '@courseops/kit';
import { z } from 'zod';

/** One service the status page watches: its name (shown on the page, used as a metric label) and base URL. */
export interface Target {
  name: string;
  url: string;
}

// Names become metric label values and page headings: short, plain, DNS-label-like.
const targetName = /^[a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?$/i;

/**
 * Reads STATUS_TARGETS (`name=url,name=url`). Throws with a message naming the bad entry, so a typo in
 * the deployment stops the process at start instead of showing a service as down forever.
 */
export function parseTargets(value: string): Target[] {
  const entries = value
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  const targets: Target[] = [];
  for (const entry of entries) {
    const at = entry.indexOf('=');
    if (at < 0) throw new Error(`"${entry}" is not name=url`);
    const name = entry.slice(0, at).trim();
    const rawUrl = entry.slice(at + 1).trim();
    if (!targetName.test(name)) throw new Error(`"${name}" in "${entry}" is not a valid name (letters, digits, - and _, up to 63)`);
    if (targets.some((t) => t.name === name)) throw new Error(`"${name}" is listed twice`);
    let url: URL;
    try {
      url = new URL(rawUrl);
    } catch {
      throw new Error(`"${rawUrl}" in "${entry}" is not a URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`"${rawUrl}" in "${entry}" must be http or https`);
    if (url.search || url.hash || url.username || url.password) {
      throw new Error(`"${rawUrl}" in "${entry}" must be a plain base URL (no query, fragment or credentials)`);
    }
    targets.push({ name, url: url.toString().replace(/\/+$/, '') });
  }
  return targets;
}

/** The URL probed for a target: its readiness endpoint (API.md "GET /readyz"). */
export const readinessUrl = (target: Target) => `${target.url}/readyz`;

const targetsEnv = () =>
  z
    .preprocess((v) => (v === undefined ? '' : v), z.string())
    .transform((value, ctx) => {
      try {
        return parseTargets(value);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: `must be a comma-separated name=url list: ${(err as Error).message}` });
        return z.NEVER;
      }
    });

/** The status service's environment (API.md "Common" and "Status service"). */
export const statusEnvSchema = commonEnvSchema.extend({
  PORT: intEnv(3003, 1, 65535),
  STATUS_TARGETS: targetsEnv(),
  PROBE_INTERVAL_MS: intEnv(15_000, 100, 3_600_000),
  DEGRADED_LATENCY_MS: intEnv(1000, 1, 600_000),
  ALERT_WEBHOOK_TOKEN: optionalStringEnv(),
  /** Open incidents kept; past it the oldest non-critical ones are shed (see recordAlerts). */
  MAX_OPEN_INCIDENTS: intEnv(500, 1, 100_000),
});
export type StatusEnv = z.infer<typeof statusEnvSchema>;
