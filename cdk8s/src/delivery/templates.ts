import { Construct } from 'constructs';
import {
  AnalysisTemplate,
  AnalysisTemplateSpecMetricsConsecutiveErrorLimit,
  AnalysisTemplateSpecMetricsCount,
  AnalysisTemplateSpecMetricsFailureLimit,
  type AnalysisTemplateSpecMetrics,
} from '../../imports/analysistemplate-argoproj.io.js';
import { ns } from '../namespaces.js';
import { ANALYSIS_ARGS, canaryMetrics, type AnalysisMetric, type CanaryThresholds } from './analysis.js';
import { serviceUrl } from '../cluster-dns.js';

/**
 * The Prometheus every Prometheus Operator instance is reachable at (the operator's governing Service
 * `prometheus-operated`, port `web`), whatever the kube-prometheus-stack release is called.
 */
export const PROMETHEUS_URL = serviceUrl('prometheus-operated', ns.monitoring.name, 9090);

export const analysisTemplateNames = (service: string) => ({ gated: `${service}-canary`, background: `${service}-canary-background` });

export interface CanaryAnalysisProps {
  readonly service: string;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly thresholds?: CanaryThresholds;
}

/**
 * A service's two AnalysisTemplates: the gated one the canary steps run (every metric must pass, two
 * measurements 30 s apart, one failure aborts), and the background one that watches the whole rollout
 * every minute (two failed measurements abort; no data is not a failure there).
 */
export class CanaryAnalysis extends Construct {
  readonly names: ReturnType<typeof analysisTemplateNames>;

  constructor(scope: Construct, id: string, props: CanaryAnalysisProps) {
    super(scope, id);
    const metrics = canaryMetrics(props.thresholds);
    this.names = analysisTemplateNames(props.service);
    const provider = (m: AnalysisMetric) => ({ prometheus: { address: PROMETHEUS_URL, query: m.query, timeout: 10 } });
    const args = ANALYSIS_ARGS.map((name) => ({ name }));

    const gated: AnalysisTemplateSpecMetrics[] = metrics.map((m) => ({
      name: m.name,
      provider: provider(m),
      successCondition: m.successCondition,
      count: AnalysisTemplateSpecMetricsCount.fromNumber(2),
      interval: '30s',
      failureLimit: AnalysisTemplateSpecMetricsFailureLimit.fromNumber(0),
      // Prometheus unreachable twice in a row is an error, and an error aborts like a failure.
      consecutiveErrorLimit: AnalysisTemplateSpecMetricsConsecutiveErrorLimit.fromNumber(2),
    }));
    const background: AnalysisTemplateSpecMetrics[] = metrics
      .filter((m) => m.failureCondition !== undefined)
      .map((m) => ({
        name: m.name,
        provider: provider(m),
        failureCondition: m.failureCondition!,
        interval: '1m',
        failureLimit: AnalysisTemplateSpecMetricsFailureLimit.fromNumber(1),
        consecutiveErrorLimit: AnalysisTemplateSpecMetricsConsecutiveErrorLimit.fromNumber(3),
      }));

    for (const [cid, name, spec] of [
      ['Gated', this.names.gated, gated],
      ['Background', this.names.background, background],
    ] as const) {
      new AnalysisTemplate(this, cid, {
        metadata: { name, namespace: props.namespace, labels: { ...props.labels } },
        spec: { args, metrics: spec },
      });
    }
  }
}
