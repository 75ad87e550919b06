import type { estypes } from '@elastic/elasticsearch';
import { mappedFields, propertiesOf } from './fields.js';
import { ILM_POLICY } from './retention.js';

export const LOGS_TEMPLATE = 'courseops-logs';
/** Elasticsearch's hook for settings of every `logs-*-*` data stream (the built-in `logs` template composes it). */
export const LOGS_CUSTOM = 'logs@custom';

/**
 * Single node: no replica (or every log index stays yellow), and the platform's retention policy
 * instead of the built-in `logs` one.
 */
export function logsCustomComponent(): estypes.ClusterPutComponentTemplateRequest {
  return {
    name: LOGS_CUSTOM,
    _meta: { managed_by: 'courseops cdk8s (src/logging/bodies/templates.ts)' },
    template: { settings: { index: { number_of_replicas: '0', lifecycle: { name: ILM_POLICY } } } },
  };
}

/**
 * The data streams' index template: the built-in logs building blocks (logs@mappings, logs@settings,
 * ecs@mappings) plus logs@custom, above the built-in `logs` template (priority 100) for the same
 * pattern, with explicit mappings for the fields the services write and the pipeline adds
 * (fields.ts): `event.duration` stays a long, `client.ip` an ip, whatever the first document says.
 */
export function logsIndexTemplate(): estypes.IndicesPutIndexTemplateRequest {
  return {
    name: LOGS_TEMPLATE,
    index_patterns: ['logs-*-*'],
    data_stream: {},
    allow_auto_create: true,
    priority: 200,
    composed_of: ['logs@mappings', 'logs@settings', LOGS_CUSTOM, 'ecs@mappings'],
    ignore_missing_component_templates: [LOGS_CUSTOM],
    template: { mappings: { properties: propertiesOf(mappedFields) as Record<string, estypes.MappingProperty> } },
    _meta: { managed_by: 'courseops cdk8s (src/logging/bodies/templates.ts)' },
  };
}
