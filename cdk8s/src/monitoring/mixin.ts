import { appLabels } from '../labels.js';
import type { ServiceMixin } from '../microservice/mixin.js';
import { rulesObject } from './rules.js';
import { serviceRuleGroups, thresholdsWith, type ThresholdOverrides } from './service-rules.js';

export const ALERT_RULES_MIXIN = 'alert-rules';

/**
 * The service's PrometheusRule (`<service>-rules`, in the service's manifest file): SLI recording rules,
 * alerts and SLO burn-rate alerts from `serviceRuleGroups`. In `defaultMixins()` with the default
 * thresholds; a declaration overrides them by listing its own, which replaces the default
 * (mixins are unique by name): `mixins: [alertRulesMixin({ latencyP95Seconds: 1 })]`.
 */
export const alertRulesMixin = (overrides: ThresholdOverrides = {}, runbookBase?: string): ServiceMixin => ({
  name: ALERT_RULES_MIXIN,
  apply(ctx) {
    rulesObject(ctx.scope, 'PrometheusRule', {
      name: `${ctx.decl.name}-rules`,
      namespace: ctx.namespace,
      labels: appLabels({ name: ctx.decl.name, instance: ctx.decl.name, component: 'monitoring' }),
      groups: serviceRuleGroups(ctx.decl, { namespace: ctx.namespace, thresholds: thresholdsWith(overrides), ...(runbookBase ? { runbookBase } : {}) }),
    });
  },
});
