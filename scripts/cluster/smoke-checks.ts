/** Pure pieces of `npm run smoke`: how answers are judged. */

export interface PromTarget {
  health: string;
  scrapePool?: string;
  scrapeUrl?: string;
  lastError?: string;
  labels?: Record<string, string>;
}

/** Prometheus /api/v1/targets: the active targets that are not up (empty list = all up). */
export function targetsNotUp(body: unknown): { total: number; notUp: PromTarget[] } {
  const data = (body as { status?: string; data?: { activeTargets?: PromTarget[] } } | undefined)?.data;
  if (!data || !Array.isArray(data.activeTargets)) throw new Error('unexpected answer from /api/v1/targets');
  const notUp = data.activeTargets.filter((t) => t.health !== 'up');
  return { total: data.activeTargets.length, notUp };
}

export function describeTarget(t: PromTarget): string {
  const job = t.labels?.job ?? t.scrapePool ?? '?';
  const instance = t.labels?.instance ?? t.scrapeUrl ?? '?';
  return `${job} ${instance} ${t.health}${t.lastError ? `: ${t.lastError}` : ''}`;
}

/** Elastic resources from `kubectl get … -o json`: names whose health is not green. */
export function notGreen(body: unknown): { total: number; bad: string[] } {
  const items = (body as { items?: { metadata?: { name?: string; namespace?: string }; status?: { health?: string } }[] } | undefined)?.items;
  if (!Array.isArray(items)) throw new Error('unexpected kubectl output');
  const bad = items
    .filter((i) => i.status?.health !== 'green')
    .map((i) => `${i.metadata?.namespace}/${i.metadata?.name} ${i.status?.health ?? 'unknown'}`);
  return { total: items.length, bad };
}

/**
 * Whether an anonymous request was stopped by authentication: 401/403, or a redirect to a login page
 * (Grafana /login, Kibana /login?next=…, oauth2-proxy /oauth2/start or sign_in, Dex /auth).
 */
export function behindAuth(status: number, location: string | undefined): boolean {
  if (status === 401 || status === 403) return true;
  if (status >= 300 && status < 400 && location) return /login|oauth2|sign_?in|\/auth\b|\/dex\b|dex\./i.test(location);
  return false;
}
