/**
 * Prometheus rules as plain data. Each group is written twice from the same object: into a
 * PrometheusRule custom resource (what the Prometheus Operator loads in the cluster) and into a plain
 * rules file `dist/prometheus/rules/<group>.rules.yaml` (what `promtool check rules` / `promtool test
 * rules` and a Prometheus outside the cluster load: promtool does not read a PrometheusRule object).
 */
import type { Construct } from 'constructs';
import { DURATION_BUCKETS, PROBE_ROUTES } from '../../../services/kit/src/contract.js';
import {
  PrometheusRule,
  PrometheusRuleSpecGroupsRulesExpr,
  type PrometheusRuleSpecGroups,
} from '../../imports/prometheusrule-monitoring.coreos.com.js';

export type Severity = 'critical' | 'warning' | 'info';

export interface RecordingRule {
  readonly record: string;
  readonly expr: string;
  readonly labels?: Readonly<Record<string, string>>;
}

export interface AlertingRule {
  readonly alert: string;
  readonly expr: string;
  /** Prometheus duration ("1m", "15m"); omitted = fires on the first evaluation. */
  readonly for?: string;
  readonly labels: Readonly<Record<string, string>> & { readonly severity: Severity };
  /** What the alert says; its `runbook_url` is added from the alert's name (`withRunbook`), never written by hand. */
  readonly annotations: {
    readonly summary: string;
    readonly description: string;
  };
}

export type Rule = RecordingRule | AlertingRule;

export interface RuleGroup {
  /** Unique across the platform: it names the plain rules file too. */
  readonly name: string;
  readonly rules: readonly Rule[];
}

export const isAlert = (r: Rule): r is AlertingRule => 'alert' in r;

/**
 * Where the runbooks live: docs/runbooks/<AlertName>.md of this repository. Change REPO_URL (or pass
 * another base to the rule builders) when the repository moves.
 */
export const REPO_URL = 'https://github.com/courseops/courseops';
export const RUNBOOK_BASE_URL = `${REPO_URL}/blob/main/docs/runbooks`;
export const runbookUrl = (alert: string, base: string = RUNBOOK_BASE_URL) => `${base}/${alert}.md`;

/**
 * Every alert's annotations with its runbook link, kube-prometheus style: one place adds
 * `runbook_url` from the alert's name to every alert, whichever builder made it (the CRD and the plain
 * rules file both come through here), so a new alert cannot ship without one or with a wrong one; the
 * rules tests check that docs/runbooks/<alert>.md exists.
 */
export const withRunbook = (r: AlertingRule) => ({ ...r.annotations, runbook_url: runbookUrl(r.alert) });

/** Routes that are not user traffic: excluded from every SLI, ratio and rate (API.md: probes and scrapes). */
export const NON_SLI_ROUTES = PROBE_ROUTES;
export const NON_SLI_ROUTE_MATCHER = `route!~"${NON_SLI_ROUTES.join('|')}"`;

/**
 * The services' histogram buckets (the kit's contract): a latency threshold must be one of them, since
 * the SLI counts requests in the bucket `le=<threshold>`.
 */
export { DURATION_BUCKETS };

/**
 * The `le` matcher of a bucket boundary. Prometheus 3 normalizes classic histogram `le` values to
 * float strings on ingestion ("1" becomes "1.0"), Prometheus 2 keeps what the target exposes (prom-client
 * writes "1"): integer boundaries match both spellings.
 */
export function leMatcher(seconds: number): string {
  if (!DURATION_BUCKETS.includes(seconds as (typeof DURATION_BUCKETS)[number])) {
    throw new Error(`latency threshold ${seconds}s is not a bucket boundary (${DURATION_BUCKETS.join(', ')})`);
  }
  return Number.isInteger(seconds) ? `le=~"${seconds}|${seconds}.0"` : `le="${seconds}"`;
}

/** 0.995 -> "99.5%" (no float noise in annotation text). */
export const percent = (ratio: number) => `${Number((ratio * 100).toFixed(3))}%`;

/** `{a="x", b="y"}` from a label map (values are plain names: no escaping needed). */
export const selector = (labels: Readonly<Record<string, string>>, ...extra: string[]) =>
  `{${[...Object.entries(labels).map(([k, v]) => `${k}="${v}"`), ...extra].join(', ')}}`;

/** A group as the PrometheusRule CRD spells it (camelCase fields, expr as int-or-string). */
export function crdGroup(group: RuleGroup): PrometheusRuleSpecGroups {
  return {
    name: group.name,
    rules: group.rules.map((r) =>
      isAlert(r)
        ? {
            alert: r.alert,
            expr: PrometheusRuleSpecGroupsRulesExpr.fromString(r.expr),
            ...(r.for ? { for: r.for } : {}),
            labels: { ...r.labels },
            annotations: withRunbook(r),
          }
        : {
            record: r.record,
            expr: PrometheusRuleSpecGroupsRulesExpr.fromString(r.expr),
            ...(r.labels ? { labels: { ...r.labels } } : {}),
          },
    ),
  };
}

/** A group as a Prometheus rules file spells it. */
export function fileGroup(group: RuleGroup): Record<string, unknown> {
  return {
    name: group.name,
    rules: group.rules.map((r) =>
      isAlert(r)
        ? { alert: r.alert, expr: r.expr, ...(r.for ? { for: r.for } : {}), labels: { ...r.labels }, annotations: withRunbook(r) }
        : { record: r.record, expr: r.expr, ...(r.labels ? { labels: { ...r.labels } } : {}) },
    ),
  };
}

/**
 * The inverse of `crdGroup` on a synthesized PrometheusRule object (JSON): synth writes the plain rules
 * files from the objects that go into the manifests, so both can never differ.
 */
export function fileGroupFromCrd(group: Record<string, unknown>): Record<string, unknown> {
  const rules = (group.rules as Record<string, unknown>[]).map((r) => {
    const out: Record<string, unknown> = {};
    for (const key of ['alert', 'record', 'expr', 'for', 'keep_firing_for', 'labels', 'annotations']) {
      const crdKey = key === 'keep_firing_for' ? 'keepFiringFor' : key;
      if (r[crdKey] !== undefined) out[key] = r[crdKey];
    }
    return out;
  });
  return { name: group.name, ...(group.interval ? { interval: group.interval } : {}), rules };
}

export interface RulesObjectProps {
  readonly name: string;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly groups: readonly RuleGroup[];
}

/** A PrometheusRule custom resource holding rule groups (selected by every namespace: ruleSelectorNilUsesHelmValues=false). */
export function rulesObject(scope: Construct, id: string, props: RulesObjectProps): PrometheusRule {
  return new PrometheusRule(scope, id, {
    metadata: { name: props.name, namespace: props.namespace, labels: { ...props.labels } },
    spec: { groups: props.groups.map(crdGroup) },
  });
}
