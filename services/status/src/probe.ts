import { randomUUID } from 'node:crypto';
import { readinessUrl, type Target } from './config.js';
import type { ServiceState } from './schema.js';

export interface ProbeOptions {
  /** Slower than this (whole answer, in ms) counts as degraded. */
  degradedLatencyMs: number;
  /** No full answer within this counts as down. */
  timeoutMs: number;
}

export interface ProbeResult {
  status: ServiceState;
  latencyMs: number;
  httpStatus: number | null;
  error: string | null;
}

/** Longest error text kept per probe: enough to diagnose, bounded so a chatty target can't bloat the history. */
const maxErrorLength = 300;

/**
 * GETs one target's /readyz and classifies it (API.md "Status service"): down when there is no answer,
 * it times out or the status is not 200; degraded when it is 200 but a soft check is down or it was slow;
 * operational otherwise. Never throws: every failure is a result.
 */
export async function probe(target: Target, options: ProbeOptions): Promise<ProbeResult> {
  const start = performance.now();
  const elapsed = () => Math.round(performance.now() - start);
  try {
    const res = await fetch(readinessUrl(target), {
      // A redirect is not a readiness answer; following it could report some other page as healthy.
      redirect: 'manual',
      // A request id of its own, so the target's access log line for this probe can be found.
      headers: { accept: 'application/json', 'user-agent': 'courseops-status-prober', 'x-request-id': `probe-${randomUUID()}` },
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    // Reading the body is part of the answer time, and the timeout covers it too.
    const body = await res.text();
    const latencyMs = elapsed();
    if (res.status !== 200) {
      return { status: 'down', latencyMs, httpStatus: res.status, error: `readiness answered ${res.status}` };
    }
    const softDown = softChecksDown(body);
    if (softDown.length > 0) {
      return { status: 'degraded', latencyMs, httpStatus: 200, error: truncate(`soft dependency down: ${softDown.join(', ')}`) };
    }
    if (latencyMs > options.degradedLatencyMs) {
      return { status: 'degraded', latencyMs, httpStatus: 200, error: `slow answer: ${latencyMs} ms > ${options.degradedLatencyMs} ms` };
    }
    return { status: 'operational', latencyMs, httpStatus: 200, error: null };
  } catch (err) {
    return { status: 'down', latencyMs: elapsed(), httpStatus: null, error: truncate(describeFetchError(err, options.timeoutMs)) };
  }
}

/** Names of the checks marked `"soft":true` that are down in a /readyz body; none when the body is not that shape. */
export function softChecksDown(body: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return [];
  }
  const checks = (parsed as { checks?: unknown } | null)?.checks;
  if (!checks || typeof checks !== 'object') return [];
  return Object.entries(checks as Record<string, unknown>)
    .filter(([, c]) => {
      const check = c as { soft?: unknown; status?: unknown } | null;
      return check?.soft === true && check.status === 'down';
    })
    .map(([name]) => name);
}

function describeFetchError(err: unknown, timeoutMs: number): string {
  if (err instanceof DOMException && err.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  // undici hides the socket error (ECONNREFUSED…) in `cause`.
  const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
  if (typeof cause?.code === 'string') return `${cause.code}${typeof cause.message === 'string' ? `: ${cause.message}` : ''}`;
  return err instanceof Error ? err.message : String(err);
}

/** Bounded, and storable: PostgreSQL text refuses NUL, and a cut may split a surrogate pair. */
const truncate = (s: string) =>
  (s.length > maxErrorLength ? `${s.slice(0, maxErrorLength - 1)}…` : s).replaceAll('\u0000', '').toWellFormed();
