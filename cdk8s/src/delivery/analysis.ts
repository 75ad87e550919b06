/**
 * What decides a canary: Prometheus queries on the canary's own pods and on the gateway's (Traefik's)
 * requests to the canary Service, and the conditions Argo Rollouts applies to their results. Plain data, so the same
 * definitions become the AnalysisTemplates (./templates.ts) and run against a real local Prometheus in
 * the tests (scripts/test/canary-analysis.test.ts).
 *
 * Conditions use the subset of Argo Rollouts' expression language (expr) that reads the same in
 * JavaScript: `len(result)`, `result[0]`, comparisons and `&&`. NaN (no requests: 0/0) compares false,
 * so a canary that got no traffic fails the gated analysis instead of passing it.
 */
import { NON_SLI_ROUTE_MATCHER } from '../monitoring/rules.js';
import { defaultThresholds, type ServiceAlertThresholds } from '../slo.js';
import { traefikBackendSuccessRatio } from './gateway-metrics.js';

/** The AnalysisTemplates' arguments, filled in by the Rollout (see strategy.ts). */
export const ANALYSIS_ARGS = ['service', 'namespace', 'canary-hash', 'canary-service'] as const;
export type AnalysisArg = (typeof ANALYSIS_ARGS)[number];
const arg = (name: AnalysisArg) => `{{args.${name}}}`;

/** Prometheus label the ServiceMonitor copies from the pod's `rollouts-pod-template-hash` label. */
export const CANARY_HASH_LABEL = 'rollouts_pod_template_hash';

/** Window of every rate: at least four scrapes (15 s) of the canary, and shorter than a step's pause. */
export const ANALYSIS_WINDOW = '2m';

export interface CanaryThresholds {
  /** Lowest share of non-5xx answers of the canary (default: 1 − the HighErrorRatio threshold). */
  readonly minSuccessRatio: number;
  /** Highest p95 of the canary's request duration, seconds (default: the HighLatencyP95 threshold). */
  readonly maxLatencyP95Seconds: number;
  /** Fewest user requests (probes and scrapes excluded) the canary must have answered in the window. */
  readonly minRequests: number;
}

/** A canary is held to its service's own alert thresholds (slo.ts): what would page in production fails it. */
export const canaryThresholdsFrom = (t: ServiceAlertThresholds): CanaryThresholds => ({
  minSuccessRatio: 1 - t.errorRatio,
  maxLatencyP95Seconds: t.latencyP95Seconds,
  minRequests: 20,
});

export const defaultCanaryThresholds: CanaryThresholds = canaryThresholdsFrom(defaultThresholds);

export interface AnalysisMetric {
  readonly name: string;
  readonly query: string;
  /** Gated analysis (a step): the measurement passes only when this holds. */
  readonly successCondition: string;
  /** Background analysis: the measurement fails only when this holds (no data is not a failure there); none = not run in the background. */
  readonly failureCondition?: string;
  /** Needs the gateway's (Traefik's) metrics: no data outside a cluster or the box. */
  readonly clusterOnly?: boolean;
}

/** A request metric of the canary pods (the Rollout's newest pod-template hash), user requests only. */
const canarySeries = (metric: string, extra = '') =>
  `${metric}{namespace="${arg('namespace')}",service="${arg('service')}",${CANARY_HASH_LABEL}="${arg('canary-hash')}",${NON_SLI_ROUTE_MATCHER}${extra}}`;
const canaryRequests = (extra = '') => canarySeries('http_requests_total', extra);

export function canaryMetrics(thresholds: CanaryThresholds = defaultCanaryThresholds): AnalysisMetric[] {
  const t = thresholds;
  const w = ANALYSIS_WINDOW;
  // With data, result[0] compared to a threshold: no data makes every one of these false.
  const measured = (comparison: string) => `len(result) > 0 && result[0] ${comparison}`;
  return [
    // No-data guard: a canary that answered too few user requests has proved nothing, so it fails.
    {
      name: 'canary-traffic',
      query: `sum(increase(${canaryRequests()}[${w}]))`,
      successCondition: measured(`>= ${t.minRequests}`),
      // Not in the background analysis: a quiet minute there is not a fault.
    },
    // Share of the canary pods' user requests answered without a 5xx (the services' own metrics).
    {
      name: 'success-ratio',
      query: `sum(rate(${canaryRequests(',status_code!~"5.."')}[${w}])) / sum(rate(${canaryRequests()}[${w}]))`,
      successCondition: measured(`>= ${t.minSuccessRatio}`),
      failureCondition: measured(`< ${t.minSuccessRatio}`),
    },
    // The same seen by the gateway: Traefik's requests to the canary Service, so it also counts requests
    // the canary never answered (502, 504). Selected by Traefik's `service` label alone (see
    // gateway-metrics.ts): the scrape's `namespace` is Traefik's, never the app's.
    {
      name: 'gateway-success-ratio',
      query: traefikBackendSuccessRatio(arg('namespace'), arg('canary-service'), w),
      successCondition: measured(`>= ${t.minSuccessRatio}`),
      failureCondition: measured(`< ${t.minSuccessRatio}`),
      clusterOnly: true,
    },
    // P95 of the canary pods' request duration, seconds.
    {
      name: 'latency-p95',
      query: `histogram_quantile(0.95, sum by (le) (rate(${canarySeries('http_request_duration_seconds_bucket')}[${w}])))`,
      successCondition: measured(`<= ${t.maxLatencyP95Seconds}`),
      failureCondition: measured(`> ${t.maxLatencyP95Seconds}`),
    },
  ];
}

/** A query with the arguments filled in, as the AnalysisRun sends it. */
export function withArgs(query: string, args: Readonly<Record<AnalysisArg, string>>): string {
  return query.replace(/\{\{args\.([a-z-]+)\}\}/g, (whole, name: string) => {
    const value = (args as Record<string, string>)[name];
    if (value === undefined) throw new Error(`no value for ${whole}`);
    return value;
  });
}
