/**
 * The Logstash pipelines: their inputs, outputs, dead letter queue and filter steps, from the typed
 * definition and from the config text the Logstash resource carries (what Logstash will parse).
 */
import { describe, expect, it } from 'vitest';
import { DLQ_DATASET, DLQ_PATH, DLQ_PIPELINE, MAIN_PIPELINE, NOISE_PATHS, deadLetterPipeline, mainPipeline } from '../src/logging/logstash.js';
import { names, ports } from '../src/logging/names.js';
import { plugins, render } from '../src/logging/pipeline.js';
import { users } from '../src/logging/users.js';
import { runFilter } from './support/logstash-eval.js';
import { ofKind, synthesized } from './support/platform.js';

const { objects, platform } = synthesized();
const logstash = ofKind(objects, 'Logstash')[0]!;
type PipelineJson = Record<string, string | number | boolean> & { 'config.string': string };
const pipelines = (logstash.spec as { pipelines: PipelineJson[] }).pipelines;
const byId = (id: string) => pipelines.find((p) => p['pipeline.id'] === id)!;
const main = mainPipeline('kind');
const dlq = deadLetterPipeline('kind');

/** Strips comments and quoted strings, then checks that braces and brackets pair up. */
function balanced(text: string): boolean {
  const code = text.replace(/"(?:[^"\\]|\\.)*"/g, '""').replace(/#.*$/gm, '');
  const stack: string[] = [];
  for (const ch of code) {
    if (ch === '{' || ch === '[') stack.push(ch);
    if (ch === '}' && stack.pop() !== '{') return false;
    if (ch === ']' && stack.pop() !== '[') return false;
  }
  return stack.length === 0;
}

describe('the Logstash resource carries both pipelines', () => {
  it('main and dead-letters, rendered from the typed definitions', () => {
    expect(pipelines.map((p) => p['pipeline.id'])).toEqual([MAIN_PIPELINE, DLQ_PIPELINE]);
    expect(byId(MAIN_PIPELINE)['config.string']).toBe(render(main));
    expect(byId(DLQ_PIPELINE)['config.string']).toBe(render(dlq));
    for (const p of pipelines) expect(balanced(p['config.string']), p['pipeline.id'] as string).toBe(true);
  });

  it('the balance check catches an unclosed block', () => {
    expect(balanced('input { beats { port => 5044 }')).toBe(false);
    expect(balanced('filter { mutate { add_tag => ["}"] } }')).toBe(true);
  });
});

describe('main pipeline', () => {
  const text = byId(MAIN_PIPELINE)['config.string'];

  it('has one input: beats on 5044, the port of the beats Service Filebeat ships to', () => {
    expect(main.input.map((p) => [p.plugin, p.settings.port])).toEqual([['beats', ports.beats]]);
    expect(text).toMatch(/input \{\n(?:\s*#.*\n)?\s*beats \{\n\s*port => 5044\n\s*\}\n\}/);
    const services = (logstash.spec as { services: { name: string; service: { spec: { ports: { port: number }[] } } }[] }).services;
    expect(services.find((s) => s.name === names.beatsService)?.service.spec.ports.map((p) => p.port)).toEqual([ports.beats]);
  });

  it('has one output: Elasticsearch data streams over TLS from the elasticsearchRef, as the log-writer user', () => {
    expect(main.output).toHaveLength(1);
    const out = main.output[0]!;
    expect(out.plugin).toBe('elasticsearch');
    const refs = (logstash.spec as { elasticsearchRefs: { name: string; clusterName: string }[] }).elasticsearchRefs;
    expect(refs).toEqual([{ name: names.elasticsearch, clusterName: names.logstashEsRef }]);
    const prefix = names.logstashEsRef.toUpperCase().replaceAll('-', '_');
    expect(out.settings).toMatchObject({
      hosts: [`\${${prefix}_ES_HOSTS}`],
      ssl_enabled: true,
      ssl_certificate_authorities: [`\${${prefix}_ES_SSL_CERTIFICATE_AUTHORITY}`],
      data_stream: 'true',
    });
    expect(text).toContain('data_stream => "true"');
    // The user and password env vars come from the log-writer file realm Secret.
    const container = (logstash.spec as { podTemplate: { spec: { containers: { env: { name: string; valueFrom?: { secretKeyRef: { name: string; key: string } } }[] }[] } } })
      .podTemplate.spec.containers[0]!;
    for (const [setting, key] of [['user', 'username'], ['password', 'password']] as const) {
      const envName = /^\$\{(\w+)\}$/.exec(out.settings[setting] as string)![1];
      expect(container.env.find((e) => e.name === envName)?.valueFrom?.secretKeyRef).toEqual({ name: users.writer.secret, key });
    }
    expect(platform.secrets.find((s) => s.name === users.writer.secret)?.keys.find((k) => k.key === 'roles')).toEqual({ key: 'roles', value: 'log-writer' });
  });

  it('sends what Elasticsearch rejects to the dead letter queue on the data volume', () => {
    const settings = byId(MAIN_PIPELINE);
    expect(settings['dead_letter_queue.enable']).toBe(true);
    expect(settings['path.dead_letter_queue']).toBe(DLQ_PATH);
    expect(String(settings['dead_letter_queue.max_bytes'])).toMatch(/^\d+mb$/);
    // ECK mounts the logstash-data claim at /usr/share/logstash/data: the queue survives a restart.
    expect(DLQ_PATH.startsWith('/usr/share/logstash/data/')).toBe(true);
    const claims = (logstash.spec as { volumeClaimTemplates: { metadata: { name: string } }[] }).volumeClaimTemplates;
    expect(claims.map((c) => c.metadata.name)).toContain('logstash-data');
  });

  it('drops exactly the access lines of /healthz, /readyz and /metrics', () => {
    expect([...NOISE_PATHS]).toEqual(['/healthz', '/readyz', '/metrics']);
    expect(text).toContain('if [url][path] in ["/healthz", "/readyz", "/metrics"] {\n    drop {}');
    for (const path of NOISE_PATHS) expect(runFilter(main.filter, { service: { name: 'course' }, url: { path } })).toBeUndefined();
    expect(runFilter(main.filter, { service: { name: 'course' }, url: { path: '/api/courses' } })).toBeDefined();
    expect(runFilter(main.filter, { service: { name: 'course' }, url: { path: '/healthzz' } })).toBeDefined();
  });

  it('tags error lines and 5xx answers, not 4xx', () => {
    const tags = (e: Record<string, unknown>) => runFilter(main.filter, { service: { name: 'course' }, ...e })!.tags as string[];
    expect(tags({ log: { level: 'error' } })).toContain('error');
    expect(tags({ log: { level: 'info' }, http: { response: { status_code: 503 } } })).toContain('error');
    expect(tags({ log: { level: 'info' }, http: { response: { status_code: 404 } } })).not.toContain('error');
    expect(tags({ log: { level: 'warn' } })).not.toContain('error');
    expect(text).toMatch(/if \(\[log\]\[level\] in \["error", "fatal"\]\) or \(\(\[http\]\[response\]\[status_code\] and \[http\]\[response\]\[status_code\] >= 500\)\)/);
  });

  it('adds the environment to every event', () => {
    expect(runFilter(mainPipeline('staging').filter, { message: 'x' })!.service).toMatchObject({ environment: 'staging' });
    expect(text).toContain('replace => { "[service][environment]" => "kind" }');
  });

  it('routes to logs-<service>-<namespace> data streams', () => {
    const e = runFilter(main.filter, { service: { name: 'Teacher' }, kubernetes: { namespace: 'courseops' } })!;
    expect(e.data_stream).toEqual({ type: 'logs', dataset: 'teacher', namespace: 'courseops' });
    const noNs = runFilter(main.filter, { service: { name: 'course' } })!;
    expect(noNs.data_stream).toMatchObject({ namespace: 'default' });
  });
});

describe('dead-letters pipeline', () => {
  it('reads the main pipeline\'s queue and writes a reduced document to its own data stream', () => {
    expect(dlq.input).toEqual([
      expect.objectContaining({ plugin: 'dead_letter_queue', settings: expect.objectContaining({ path: DLQ_PATH, pipeline_id: MAIN_PIPELINE, commit_offsets: true }) }),
    ]);
    expect(byId(DLQ_PIPELINE)['dead_letter_queue.enable']).toBe(false);
    expect(dlq.output).toEqual(main.output);
    const e = runFilter(dlq.filter, { '@timestamp': 't', message: 'm', http: { response: { status_code: 'not a number' } } })!;
    expect(e).toMatchObject({ '@timestamp': 't', message: 'm', data_stream: { type: 'logs', dataset: DLQ_DATASET, namespace: 'logging' }, tags: ['dead_letter'] });
    expect(e.http).toBeUndefined();
    expect(byId(DLQ_PIPELINE)['config.string']).toContain('%{[@metadata][dead_letter_queue][reason]}');
  });

  it('uses only plugins of the Logstash distribution', () => {
    const used = [main, dlq].flatMap((p) => [...p.input, ...plugins(p.filter), ...p.output].map((x) => x.plugin));
    expect([...new Set(used)].sort()).toEqual(['beats', 'dead_letter_queue', 'drop', 'elasticsearch', 'mutate', 'prune']);
  });
});
