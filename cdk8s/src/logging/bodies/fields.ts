/**
 * The ECS fields the services write (../shared/API.md "logs"; services/kit logger and access log), with
 * the Elasticsearch type each is mapped to. The index template's mappings are made from this list, and
 * logging-fields.test.ts checks every one against real lines of the running services: a field mapped,
 * searched or charted here that no service writes, or writes with another type, fails that test.
 */
export type EcsFieldType = 'date' | 'keyword' | 'long' | 'ip' | 'match_only_text';

export const serviceEcsFields = {
  '@timestamp': 'date',
  message: 'match_only_text',
  'log.level': 'keyword',
  'service.name': 'keyword',
  'service.version': 'keyword',
  'http.request.id': 'keyword',
  'http.request.method': 'keyword',
  'http.route': 'keyword',
  'url.path': 'keyword',
  'http.response.status_code': 'long',
  /** Nanoseconds (ECS). */
  'event.duration': 'long',
  'event.kind': 'keyword',
  'event.category': 'keyword',
  'client.ip': 'ip',
  'user_agent.original': 'keyword',
} as const satisfies Record<string, EcsFieldType>;

export type ServiceEcsField = keyof typeof serviceEcsFields;

/**
 * Fields the pipeline adds to every event (Filebeat's Kubernetes metadata, Logstash's tags and routing),
 * mapped too because saved searches and dashboards use them. logging-fields.test.ts checks that the
 * pipeline or Filebeat really sets each.
 */
export const pipelineFields = {
  'service.environment': 'keyword',
  'kubernetes.namespace': 'keyword',
  'kubernetes.pod.name': 'keyword',
  'kubernetes.container.name': 'keyword',
  tags: 'keyword',
} as const satisfies Record<string, EcsFieldType>;

export type MappedField = ServiceEcsField | keyof typeof pipelineFields;
export const mappedFields: Readonly<Record<MappedField, EcsFieldType>> = { ...serviceEcsFields, ...pipelineFields };

/** `{ a: { properties: { b: { type } } } }` from dotted names. */
export function propertiesOf(fields: Readonly<Record<string, EcsFieldType>>): Record<string, unknown> {
  const root: Record<string, { type?: string; properties?: Record<string, unknown> }> = {};
  for (const [name, type] of Object.entries(fields)) {
    const parts = name.split('.');
    let level = root;
    for (const part of parts.slice(0, -1)) {
      const node = (level[part] ??= { properties: {} });
      level = node.properties as typeof root;
    }
    level[parts.at(-1)!] = { type };
  }
  return root;
}
