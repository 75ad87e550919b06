import type { ServiceState } from './schema.js';

/** How each state reads: a word and a symbol, so the state never depends on colour alone. */
export const stateLabel: Record<ServiceState, { text: string; symbol: string }> = {
  operational: { text: 'Operational', symbol: '✓' },
  degraded: { text: 'Degraded', symbol: '!' },
  down: { text: 'Down', symbol: '✕' },
};

export const overallLabel: Record<ServiceState, string> = {
  operational: 'All systems operational',
  degraded: 'Some systems degraded',
  down: 'Service outage',
};

/**
 * An uptime ratio as a percentage with two decimals, rounded down: 99.996 % must not read as 100.00 %.
 * The epsilon undoes binary noise (0.29 × 10000 = 2899.9999…).
 */
export function formatUptime(ratio: number | null): string {
  if (ratio === null) return 'No data';
  return `${(Math.floor(ratio * 10_000 + 1e-6) / 100).toFixed(2)}%`;
}

export const formatLatency = (ms: number | null): string => (ms === null ? 'No answer' : `${ms} ms`);

/** A readable, unambiguous time without client-side code: UTC, to the minute. */
export const formatTime = (iso: string): string => `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;

/** "2 h 5 min", "3 d 4 h", "under a minute". */
export function formatDuration(ms: number): string {
  const minutes = Math.floor(Math.max(0, ms) / 60_000);
  if (minutes < 1) return 'under a minute';
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const mins = minutes % 60;
  if (days > 0) return hours > 0 ? `${days} d ${hours} h` : `${days} d`;
  if (hours > 0) return mins > 0 ? `${hours} h ${mins} min` : `${hours} h`;
  return `${mins} min`;
}
