/**
 * A service's service-level thresholds, as data: the declaration (services.ts, `slo`) overrides the
 * defaults, and the alerts (monitoring/service-rules.ts), the service's dashboard and its canary gates
 * (delivery/analysis.ts) all read the same resolved values through `thresholdsOf`. No imports: the
 * declaration and every consumer can depend on it without a loop.
 */

/** Per-service thresholds; every field has a default (`defaultThresholds`) and can be overridden per service. */
export interface ServiceAlertThresholds {
  /** HighErrorRatio: share of 5xx answers over 5 minutes. */
  readonly errorRatio: number;
  /** HighLatencyP95: p95 of request duration over 5 minutes, seconds. */
  readonly latencyP95Seconds: number;
  /** HighRequestRate: requests per second per instance over 1 minute. */
  readonly requestsPerSecondPerInstance: number;
  /** ErrorLogSpike: error log lines per second over 5 minutes (all instances together). */
  readonly errorLogsPerSecond: number;
  /** Availability SLO: share of non-5xx answers over 30 days. */
  readonly availabilityObjective: number;
  /** Latency SLO: share of requests answered within `thresholdSeconds` (a histogram bucket boundary). */
  readonly latencyObjective: { readonly ratio: number; readonly thresholdSeconds: number };
}

export const defaultThresholds: ServiceAlertThresholds = {
  errorRatio: 0.05,
  latencyP95Seconds: 0.5,
  requestsPerSecondPerInstance: 5,
  errorLogsPerSecond: 0.1,
  availabilityObjective: 0.995,
  latencyObjective: { ratio: 0.99, thresholdSeconds: 0.5 },
};

export type ThresholdOverrides = Partial<Omit<ServiceAlertThresholds, 'latencyObjective'>> & {
  readonly latencyObjective?: Partial<ServiceAlertThresholds['latencyObjective']>;
};

export function thresholdsWith(overrides: ThresholdOverrides = {}): ServiceAlertThresholds {
  return {
    ...defaultThresholds,
    ...overrides,
    latencyObjective: { ...defaultThresholds.latencyObjective, ...overrides.latencyObjective },
  };
}

/** The resolved thresholds of a declaration (`slo` over the defaults). */
export const thresholdsOf = (decl: { readonly slo?: ThresholdOverrides }): ServiceAlertThresholds => thresholdsWith(decl.slo);
