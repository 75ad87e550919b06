import {
  RolloutSpecStrategyCanaryMaxSurge,
  RolloutSpecStrategyCanaryMaxUnavailable,
  RolloutSpecStrategyCanaryStepsPauseDuration,
  type RolloutSpecStrategy,
  type RolloutSpecStrategyCanarySteps,
} from '../../imports/rollout-argoproj.io.js';
import { gatewayApiPlugin } from '../helm/releases/argo-rollouts.js';
import type { ServiceNames } from '../microservice/mixin.js';
import type { AnalysisArg } from './analysis.js';
import { analysisTemplateNames } from './templates.js';

/** Traffic weights of the canary, with an analysis after the first and the last partial step. */
export const CANARY_WEIGHTS = [10, 25, 50] as const;
/**
 * Each weight holds this long before the next step: longer than the analysis window (2m), so the
 * analysis that follows measures traffic at that weight only.
 */
export const STEP_PAUSE = '3m';

export interface CanaryStrategyProps {
  readonly service: string;
  readonly namespace: string;
  readonly names: ServiceNames;
  /** With a public route the gateway splits traffic by weight; without one, pods do by count. */
  readonly publicRoute: boolean;
}

/**
 * The Argo Rollouts Gateway API plugin's configuration (its GatewayAPITrafficRouting, pkg/plugin/types.go
 * at v0.15.0): it sets the weights of the stable and canary Services' backendRefs in the service's
 * HTTPRoute, which our manifests leave unweighted so that a re-apply never resets them mid-canary.
 */
export function gatewayTrafficRouting(props: Pick<CanaryStrategyProps, 'namespace' | 'names'>) {
  return { plugins: { [gatewayApiPlugin.name]: { httpRoute: props.names.httpRoute, namespace: props.namespace } } };
}

/** The arguments the AnalysisTemplates take, from the Rollout: the canary's pod-template hash is the newest one. */
function analysisArgs(props: CanaryStrategyProps) {
  const values: Record<Exclude<AnalysisArg, 'canary-hash'>, string> = {
    service: props.service,
    namespace: props.namespace,
    'canary-service': props.names.canaryService,
  };
  return [
    ...Object.entries(values).map(([name, value]) => ({ name, value })),
    { name: 'canary-hash' satisfies AnalysisArg, valueFrom: { podTemplateHashValue: 'Latest' } },
  ];
}

/**
 * 10 % → pause → analysis → 25 % → pause → 50 % → pause → analysis → 100 %, with the background analysis
 * running from the first step to the end. A failed analysis aborts: all traffic goes back to the stable
 * pods at once, the canary pods are scaled down 30 s later (Argo Rollouts' default), and the Rollout is
 * Degraded until a new template (a fix, or the old image again) is rolled out.
 */
export function canaryStrategy(props: CanaryStrategyProps): RolloutSpecStrategy {
  const templates = analysisTemplateNames(props.service);
  const args = analysisArgs(props);
  const pause = (): RolloutSpecStrategyCanarySteps => ({ pause: { duration: RolloutSpecStrategyCanaryStepsPauseDuration.fromString(STEP_PAUSE) } });
  const analysis = (): RolloutSpecStrategyCanarySteps => ({ analysis: { templates: [{ templateName: templates.gated }], args } });
  const [first, second, third] = CANARY_WEIGHTS;
  return {
    canary: {
      stableService: props.names.stableService,
      canaryService: props.names.canaryService,
      maxUnavailable: RolloutSpecStrategyCanaryMaxUnavailable.fromNumber(0),
      maxSurge: RolloutSpecStrategyCanaryMaxSurge.fromString('25%'),
      ...(props.publicRoute ? { trafficRouting: gatewayTrafficRouting(props) } : {}),
      analysis: { templates: [{ templateName: templates.background }], args, startingStep: 1 },
      steps: [
        { setWeight: first },
        pause(),
        analysis(),
        { setWeight: second },
        pause(),
        { setWeight: third },
        pause(),
        analysis(),
        { setWeight: 100 },
      ],
    },
  };
}

