/** The recommended labels (app.kubernetes.io/*), the one place that spells them. */
export const PART_OF = 'courseops';
export const MANAGED_BY = 'cdk8s';

export interface AppLabelsInput {
  /** app.kubernetes.io/name: the application, e.g. "course", "postgresql". */
  name: string;
  /** app.kubernetes.io/instance: unique per deployed instance, e.g. "course", "course-postgresql". */
  instance: string;
  /** app.kubernetes.io/component: e.g. "api", "database", "metrics". */
  component: string;
  version?: string;
}

/** Labels that identify pods: used in selectors, so they never change over a workload's life. */
export function selectorLabels(input: Pick<AppLabelsInput, 'name' | 'instance'>): Record<string, string> {
  return {
    'app.kubernetes.io/name': input.name,
    'app.kubernetes.io/instance': input.instance,
  };
}

/** The full label set for any object of an app. */
export function appLabels(input: AppLabelsInput): Record<string, string> {
  return {
    ...selectorLabels(input),
    'app.kubernetes.io/component': input.component,
    'app.kubernetes.io/part-of': PART_OF,
    'app.kubernetes.io/managed-by': MANAGED_BY,
    ...(input.version ? { 'app.kubernetes.io/version': input.version } : {}),
  };
}

/** Kubernetes' immutable namespace label, set by the API server on every namespace (used in namespaceSelectors). */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';
