/**
 * The fields the logging stack relies on are the fields the services really write: the three services
 * run in-process (PGlite), serve a few requests (a health check, a scrape, a created course, a 404, a
 * request that is slow and fails with 503 because the course service never answers), and their real
 * ECS lines are checked against
 * - the index template's mappings (bodies/fields.ts): every mapped service field is written, with a
 *   value of the mapped type in every line that has it;
 * - the saved searches and the dashboard (bodies/saved-objects.ts): every field they name;
 * - the Logstash pipeline's conditions and copies (logstash.ts): every field they read;
 * and the same lines are pushed through a model of the pipeline's filter (support/logstash-eval.ts).
 */
import { isIP, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonRequest, startOnLoopback, type RunningService } from '@courseops/kit/testing';
import type { BuiltService } from '@courseops/kit';
import { createCourseService } from '../../services/course/src/service.js';
import { createStatusService } from '../../services/status/src/service.js';
import { createTeacherService } from '../../services/teacher/src/service.js';
import { mappedFields, pipelineFields, serviceEcsFields, type EcsFieldType } from '../src/logging/bodies/fields.js';
import { kibanaFields, SLOW_REQUEST_NS } from '../src/logging/bodies/saved-objects.js';
import { logsIndexTemplate } from '../src/logging/bodies/templates.js';
import { filebeatConfig } from '../src/logging/filebeat.js';
import { mainPipeline } from '../src/logging/logstash.js';
import { conditionFieldNames, sprintfFieldNames } from '../src/logging/pipeline.js';
import { expandKeys, runFilter } from './support/logstash-eval.js';

type Line = Record<string, unknown>;

/** A line's fields by dotted name, whether the formatter wrote `a.b` keys or nested objects. */
function flatten(value: Record<string, unknown>, prefix = ''): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const [k, v] of Object.entries(value)) {
    const name = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === 'object' && !Array.isArray(v)) for (const [kk, vv] of flatten(v as Record<string, unknown>, name)) out.set(kk, vv);
    else out.set(name, v);
  }
  return out;
}

const ofType: Record<EcsFieldType, (v: unknown) => boolean> = {
  date: (v) => typeof v === 'string' && /^\d{4}-\d\d-\d\dT/.test(v) && !Number.isNaN(Date.parse(v)),
  keyword: (v) => typeof v === 'string' || (Array.isArray(v) && v.every((x) => typeof x === 'string')),
  long: (v) => Number.isInteger(v),
  ip: (v) => typeof v === 'string' && isIP(v) !== 0,
  match_only_text: (v) => typeof v === 'string',
};

/** Problems of `fields` against the lines: not written by any line, or written with another type. */
function fieldProblems(lines: readonly Line[], fields: Readonly<Record<string, EcsFieldType>>): string[] {
  const flat = lines.map((l) => flatten(l));
  const problems: string[] = [];
  for (const [field, type] of Object.entries(fields)) {
    const values = flat.filter((l) => l.has(field)).map((l) => l.get(field));
    if (values.length === 0) problems.push(`${field}: no service writes it`);
    const wrong = values.filter((v) => !ofType[type](v));
    if (wrong.length > 0) problems.push(`${field}: ${JSON.stringify(wrong[0])} is not a ${type}`);
  }
  return problems;
}

const REQUEST_ID = 'logging-fields-test-1';
const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';
const lines: { service: string; line: Line }[] = [];
const running: RunningService<BuiltService>[] = [];
let blackhole: Server;
const held: Socket[] = [];

beforeAll(async () => {
  // A course service that accepts connections and never answers: the teacher's call times out (slow, 503).
  blackhole = createServer((socket) => void held.push(socket));
  await new Promise<void>((resolve) => blackhole.listen(0, '127.0.0.1', resolve));
  const blackholeUrl = `http://127.0.0.1:${(blackhole.address() as { port: number }).port}`;

  const course = await startOnLoopback('pglite', 'course', createCourseService);
  const teacher = await startOnLoopback('pglite', 'teacher', (s) =>
    createTeacherService({ ...s, courseServiceUrl: blackholeUrl, courseServiceTimeoutMs: 1100, courseRetryDelaysMs: [] }),
  );
  const status = await startOnLoopback('pglite', 'status', (s) => createStatusService(s, { targets: [], probeIntervalMs: 60_000, degradedLatencyMs: 1000 }));
  running.push(course, teacher, status);

  const ua = { 'user-agent': 'logging-fields-test/1.0' };
  for (const path of ['/healthz', '/readyz', '/metrics']) await course.call(path);
  const created = await course.call('/api/courses', { method: 'POST', ...jsonRequest({ title: 'Logs 101', credits: 3 }, { 'x-request-id': REQUEST_ID, ...ua }) });
  const courseId = ((await created.json()) as { id: string }).id;
  await course.call(`/api/courses/${courseId}`, { headers: { 'x-request-id': REQUEST_ID, ...ua } });
  await course.call(`/api/courses/${UNKNOWN_ID}`, { headers: ua });
  await course.call('/api/courses/not-a-uuid', { headers: ua });
  const t = await teacher.call('/api/teachers', { method: 'POST', ...jsonRequest({ name: 'Ada', email: 'ada@example.test' }, ua) });
  const teacherId = ((await t.json()) as { id: string }).id;
  await teacher.call(`/api/teachers/${teacherId}/courses`, { method: 'POST', ...jsonRequest({ courseId }, ua) });
  await status.call('/api/status', { headers: ua });
  await status.call('/', { headers: ua });

  for (const [name, r] of [['course', course], ['teacher', teacher], ['status', status]] as const) {
    for (const line of r.logs.lines) lines.push({ service: name, line });
  }
}, 60_000);

afterAll(async () => {
  for (const r of running) await r.stop();
  for (const s of held) s.destroy();
  await new Promise((resolve) => blackhole?.close(resolve));
});

const all = () => lines.map((l) => l.line);
const accessLines = () => all().filter((l) => flatten(l).has('http.response.status_code'));

describe('the services write ECS lines', () => {
  it('every service logged, each line names its service', () => {
    for (const name of ['course', 'teacher', 'status']) {
      const own = lines.filter((l) => l.service === name);
      expect(own.length, name).toBeGreaterThan(0);
      for (const { line } of own) {
        const flat = flatten(line);
        expect(flat.get('service.name')).toBe(name);
        // ECS logging's required fields: the ndjson parser and the index template rely on them.
        expect(typeof flat.get('ecs.version'), JSON.stringify(line)).toBe('string');
        expect(ofType.date(flat.get('@timestamp')), JSON.stringify(line)).toBe(true);
        expect(typeof flat.get('log.level')).toBe('string');
        expect(typeof flat.get('message')).toBe('string');
      }
    }
  });

  it('the drive produced the cases the searches are for: an error answer, a slow request, one request id in several lines', () => {
    const flat = accessLines().map((l) => flatten(l));
    expect(flat.some((l) => (l.get('http.response.status_code') as number) >= 500)).toBe(true);
    expect(flat.some((l) => (l.get('event.duration') as number) >= SLOW_REQUEST_NS)).toBe(true);
    expect(all().filter((l) => flatten(l).get('http.request.id') === REQUEST_ID).length).toBeGreaterThanOrEqual(2);
  });
});

describe('fields the logging stack relies on are written by the services', () => {
  it('every service field of the index template is written, with the mapped type', () => {
    expect(fieldProblems(all(), serviceEcsFields)).toEqual([]);
  });

  it('the template maps exactly the fields of bodies/fields.ts', () => {
    const leaves = [...flatten(JSON.parse(JSON.stringify(logsIndexTemplate().template?.mappings?.properties)) as Record<string, unknown>).keys()]
      .map((k) => k.replace(/\.type$/, '').replaceAll('.properties.', '.'))
      .sort();
    expect(leaves).toEqual(Object.keys(mappedFields).sort());
  });

  it('every field of the saved searches and the dashboard is mapped, and the services write it unless the pipeline adds it', () => {
    const used = kibanaFields();
    expect(used.length).toBeGreaterThan(5);
    const fromServices = Object.fromEntries(used.filter((f) => f in serviceEcsFields).map((f) => [f, mappedFields[f]]));
    expect(used.filter((f) => !(f in mappedFields))).toEqual([]);
    expect(used.filter((f) => !(f in serviceEcsFields) && !(f in pipelineFields))).toEqual([]);
    expect(fieldProblems(all(), fromServices)).toEqual([]);
  });

  it('the pipeline reads only fields the services write or Filebeat and the pipeline set', () => {
    const filter = mainPipeline('test').filter;
    const read = [...new Set([...conditionFieldNames(filter), ...sprintfFieldNames(filter)])];
    // kubernetes.* come from Filebeat's add_kubernetes_metadata; service.name is also set by the pipeline for plain lines.
    const fromFilebeat = read.filter((f) => f.startsWith('kubernetes.'));
    expect(JSON.stringify(filebeatConfig())).toContain('add_kubernetes_metadata');
    const fromServices = read.filter((f) => !f.startsWith('kubernetes.'));
    expect(fromServices.sort()).toEqual(['http.response.status_code', 'log.level', 'service.name', 'url.path']);
    expect(fieldProblems(all(), Object.fromEntries(fromServices.map((f) => [f, mappedFields[f as keyof typeof mappedFields] ?? 'keyword'])))).toEqual([]);
    expect(fromFilebeat.every((f) => f in pipelineFields || f === 'kubernetes.container.name')).toBe(true);
  });

  it('a field no service writes is reported (the check can fail)', () => {
    expect(fieldProblems(all(), { 'user.name': 'keyword' })).toEqual(['user.name: no service writes it']);
    expect(fieldProblems(all(), { 'http.request.method': 'long' })[0]).toMatch(/http\.request\.method: .* is not a long/);
  });
});

describe('the services\' lines through the pipeline\'s filter (modelled)', () => {
  const filter = mainPipeline('kind').filter;
  const shipped = (line: Line) => runFilter(filter, { ...expandKeys(line), kubernetes: { namespace: 'courseops', container: { name: 'x' } } });

  it('drops the access lines of health checks and scrapes, keeps the others', () => {
    for (const line of accessLines()) {
      const path = flatten(line).get('url.path') as string;
      const out = shipped(line);
      if (['/healthz', '/readyz', '/metrics'].includes(path)) expect(out, path).toBeUndefined();
      else expect(out, path).toBeDefined();
    }
  });

  it('tags the 5xx answers and error lines as errors, and only those', () => {
    for (const line of all()) {
      const flat = flatten(line);
      const out = shipped(line);
      if (!out) continue;
      const isError = flat.get('log.level') === 'error' || ((flat.get('http.response.status_code') as number | undefined) ?? 0) >= 500;
      expect((out.tags as string[]).includes('error'), String(flat.get('message'))).toBe(isError);
    }
    expect(all().map(shipped).filter((e) => (e?.tags as string[] | undefined)?.includes('error')).length).toBeGreaterThan(0);
  });

  it('routes each line to logs-<service>-<namespace> with the environment', () => {
    for (const { service, line } of lines) {
      const out = shipped(line);
      if (!out) continue;
      expect(out.data_stream).toEqual({ type: 'logs', dataset: service, namespace: 'courseops' });
      expect((out.service as { environment: string }).environment).toBe('kind');
      expect(out.tags).toContain('ecs');
    }
  });

  it('a plain line gets the container name as service and a sanitized data stream', () => {
    const out = runFilter(filter, { message: 'plain text', kubernetes: { namespace: 'ingress-nginx', container: { name: 'Controller' } } })!;
    expect(out.tags).toEqual(['plain']);
    expect(out.data_stream).toEqual({ type: 'logs', dataset: 'controller', namespace: 'ingress_nginx' });
  });
});
