/**
 * How `npm run canary` reads a running canary: the Rollout's status (step, the weights the controller
 * asked for, analysis runs, abort) and the service's HTTPRoute, whose backendRef weights the Argo Rollouts
 * Gateway API plugin sets. The route is what the gateway really does, so an abort counts as done only once
 * the route sends nothing to the canary Service any more.
 */
import { serviceNames } from '../../cdk8s/src/microservice/mixin.js';
import { ns } from '../../cdk8s/src/namespaces.js';
import { services } from '../../cdk8s/src/services.js';
import { kubectl, runChecked, type Cmd, type Runner } from './commands.js';

const APPS_NAMESPACE = ns.apps.name;

/** The parts of a Rollout's status `npm run canary` reads (argoproj.io/v1alpha1). */
export interface RolloutStatusView {
  metadata?: { generation?: number };
  spec?: { strategy?: { canary?: { steps?: unknown[] } } };
  status?: {
    phase?: string;
    message?: string;
    abort?: boolean;
    observedGeneration?: string | number;
    currentStepIndex?: number;
    currentPodHash?: string;
    stableRS?: string;
    pauseConditions?: { reason: string }[] | null;
    canary?: {
      /** Set by the controller after each SetWeight of the traffic router (plugins included). */
      weights?: { canary?: { weight?: number }; stable?: { weight?: number } };
      currentStepAnalysisRunStatus?: { name?: string; status?: string };
      currentBackgroundAnalysisRunStatus?: { name?: string; status?: string };
    };
    readyReplicas?: number;
    replicas?: number;
  };
}

/** The parts of an HTTPRoute (gateway.networking.k8s.io/v1) `npm run canary` reads. */
export interface HttpRouteView {
  spec?: { rules?: { backendRefs?: { name: string; weight?: number }[] }[] };
}

/** A service's HTTPRoute and the two Services the plugin weighs in it. */
export interface RouteTarget {
  readonly name: string;
  readonly stableService: string;
  readonly canaryService: string;
}

/** The route of a service with a public route; none for a service only other services call. */
export function routeTarget(service: string): RouteTarget | undefined {
  if (!services.find((s) => s.name === service)?.ingress) return undefined;
  const n = serviceNames(service);
  return { name: n.httpRoute, stableService: n.stableService, canaryService: n.canaryService };
}

export interface RouteSplit {
  readonly stableWeight: number;
  readonly canaryWeight: number;
  /** Percent of the rule's requests the canary Service gets: its weight over the sum (Gateway API). */
  readonly canaryPercent: number;
}

/**
 * The split of the first rule that names both Services (the plugin sets every such rule alike and skips
 * the header-routing rules it adds). A backendRef without a weight weighs 1, the Gateway API default.
 */
export function routeSplit(route: HttpRouteView, target: RouteTarget): RouteSplit | undefined {
  for (const rule of route.spec?.rules ?? []) {
    const refs = rule.backendRefs ?? [];
    const weight = (name: string) => refs.filter((r) => r.name === name).reduce((sum, r) => sum + (r.weight ?? 1), 0);
    if (!refs.some((r) => r.name === target.stableService) || !refs.some((r) => r.name === target.canaryService)) continue;
    const [stableWeight, canaryWeight] = [weight(target.stableService), weight(target.canaryService)];
    const total = stableWeight + canaryWeight;
    return { stableWeight, canaryWeight, canaryPercent: total === 0 ? 0 : Math.round((canaryWeight / total) * 1000) / 10 };
  }
  return undefined;
}

/** What was read of the route: its content, or why it could not be read. */
export type RouteReading = { readonly target: RouteTarget; readonly route: HttpRouteView } | { readonly target: RouteTarget; readonly error: string };

export type CanaryVerdict = 'progressing' | 'promoted' | 'aborted';

/** One line of progress and what it means for `npm run canary`. */
export function readCanary(r: RolloutStatusView, reading?: RouteReading): { verdict: CanaryVerdict; line: string } {
  const s = r.status ?? {};
  const steps = r.spec?.strategy?.canary?.steps?.length ?? 0;
  const observed = s.observedGeneration !== undefined && Number(s.observedGeneration) === r.metadata?.generation;
  const step = `step ${Math.min(s.currentStepIndex ?? 0, steps)}/${steps}`;
  const weight = `canary weight ${s.canary?.weights?.canary?.weight ?? 0} %`;
  const split = reading && 'route' in reading ? routeSplit(reading.route, reading.target) : undefined;
  const route = !reading
    ? ''
    : 'error' in reading
      ? `route ${reading.target.name} unreadable: ${reading.error}`
      : split
        ? `route ${reading.target.name}: canary ${split.canaryPercent} % (weights ${split.stableWeight}/${split.canaryWeight})`
        : `route ${reading.target.name} has no rule with ${reading.target.stableService} and ${reading.target.canaryService}`;
  const analyses = [
    s.canary?.currentStepAnalysisRunStatus?.name ? `analysis ${s.canary.currentStepAnalysisRunStatus.name}: ${s.canary.currentStepAnalysisRunStatus.status ?? '?'}` : '',
    s.canary?.currentBackgroundAnalysisRunStatus?.name ? `background ${s.canary.currentBackgroundAnalysisRunStatus.status ?? '?'}` : '',
  ].filter(Boolean);
  const paused = s.pauseConditions?.length ? `paused (${s.pauseConditions.map((p) => p.reason).join(', ')})` : '';
  const line = [s.phase ?? 'Unknown', step, weight, route, paused, ...analyses, s.message ?? ''].filter(Boolean).join(' · ');
  if (s.abort || (observed && s.phase === 'Degraded')) {
    // Aborted by the controller; done once the gateway no longer sends requests to the canary Service.
    const routeBack = !reading || (split !== undefined && split.canaryWeight === 0);
    return { verdict: routeBack ? 'aborted' : 'progressing', line: routeBack ? line : `aborting · ${line}` };
  }
  if (observed && s.phase === 'Healthy' && s.currentPodHash !== undefined && s.currentPodHash === s.stableRS) return { verdict: 'promoted', line };
  return { verdict: 'progressing', line };
}

/** The commands that read a canary's state: the Rollout, and the service's HTTPRoute if it has one. */
export function canaryStatusCommands(service: string): { rollout: Cmd; route?: Cmd } {
  const target = routeTarget(service);
  const get = (...what: string[]): Cmd => ({ argv: kubectl('-n', APPS_NAMESPACE, 'get', ...what, '-o', 'json'), timeoutMs: 30_000 });
  return { rollout: get('rollout', service), ...(target ? { route: get('httproute', target.name) } : {}) };
}

/** Reads the Rollout (a failure throws) and the route (a failure is shown in the line, not thrown). */
export async function observeCanary(runner: Runner, service: string): Promise<{ verdict: CanaryVerdict; line: string }> {
  const cmds = canaryStatusCommands(service);
  const rollout = JSON.parse((await runChecked(runner, cmds.rollout)).stdout) as RolloutStatusView;
  const target = routeTarget(service);
  if (!cmds.route || !target) return readCanary(rollout);
  const res = await runner(cmds.route.argv, { timeoutMs: cmds.route.timeoutMs });
  const reading: RouteReading =
    res.code === 0 ? { target, route: JSON.parse(res.stdout) as HttpRouteView } : { target, error: res.stderr.trim().split('\n').at(-1) || `exit ${res.code}` };
  return readCanary(rollout, reading);
}
