import { hasExternalDatabase } from '../config.js';
import { appLabels } from '../labels.js';
import type { ServiceMixin } from '../microservice/mixin.js';
import { rulesObject } from './rules.js';
import { serviceRuleGroups } from './service-rules.js';

export const ALERT_RULES_MIXIN = 'alert-rules';

/**
 * The service's PrometheusRule (`<service>-rules`, in the service's manifest file): SLI recording rules,
 * alerts and SLO burn-rate alerts from `serviceRuleGroups`, with the declaration's thresholds
 * (`slo: { latencyP95Seconds: 1 }` in services.ts; see slo.ts).
 */
export const alertRulesMixin = (): ServiceMixin => ({
  name: ALERT_RULES_MIXIN,
  apply(ctx) {
    rulesObject(ctx.scope, 'PrometheusRule', {
      name: `${ctx.decl.name}-rules`,
      namespace: ctx.namespace,
      labels: appLabels({ name: ctx.decl.name, instance: ctx.decl.name, component: 'monitoring' }),
      groups: serviceRuleGroups(ctx.decl, { namespace: ctx.namespace, externalDatabase: hasExternalDatabase(ctx) }),
    });
  },
});
