/**
 * The bootstrap Job's bodies (retention, archiving, templates, roles, Kibana objects): their types are
 * checked at compile time against @elastic/elasticsearch; here their key values, the Job that applies
 * them, and that the ConfigMap carries exactly these bodies.
 */
import { describe, expect, it } from 'vitest';
import type { estypes } from '@elastic/elasticsearch';
import { ILM_POLICY, SLM_POLICY, ilmPolicy, slmPolicy, snapshotRepository } from '../src/logging/bodies/retention.js';
import { logAdmin, logReader, logWriter } from '../src/logging/bodies/roles.js';
import { DASHBOARD_ID, DATA_VIEW_ID, savedObjects, savedObjectsNdjson, savedSearches, visualizations } from '../src/logging/bodies/saved-objects.js';
import { LOGS_CUSTOM, LOGS_TEMPLATE, logsCustomComponent, logsIndexTemplate } from '../src/logging/bodies/templates.js';
import { apiSteps, bootstrapScript, SAVED_OBJECTS_FILE } from '../src/logging/bootstrap.js';
import { ELASTICSEARCH_IMAGE, SNAPSHOT_PATH, caSecrets, names } from '../src/logging/names.js';
import { users } from '../src/logging/users.js';
import { ofKind, podTemplate, synthesized, type K8sObject } from './support/platform.js';

const { objects, platform } = synthesized();
const job = ofKind(objects, 'Job').find((j) => j.metadata.namespace === 'logging')!;
const configMap = ofKind(objects, 'ConfigMap').find((c) => c.metadata.name === job.metadata.name)!;
const data = (configMap as K8sObject & { data: Record<string, string> }).data;

describe('retention and archiving', () => {
  it('ILM: hot with rollover at 1 GB or 1 day, deleted after 14 days', () => {
    const phases = ilmPolicy().policy!.phases;
    expect(phases.hot?.actions?.rollover).toEqual({ max_primary_shard_size: '1gb', max_age: '1d' });
    expect(phases.delete).toEqual({ min_age: '14d', actions: { delete: {} } });
  });

  it('ILM retention is configurable', () => {
    expect(ilmPolicy({ deleteAfterDays: 30 }).policy!.phases.delete?.min_age).toBe('30d');
  });

  it('SLM: nightly snapshot of the log data streams to the fs repository, kept 30 d / at least 5 / at most 50', () => {
    const slm = slmPolicy();
    expect(slm.repository).toBe(names.snapshotRepository);
    expect(slm.schedule).toMatch(/^0 \d+ \d+ \* \* \?$/);
    expect(slm.config).toMatchObject({ indices: ['logs-*'], include_global_state: false });
    expect(slm.retention).toEqual({ expire_after: '30d', min_count: 5, max_count: 50 });
  });

  it('the fs repository is the standalone PVC mounted at path.repo', () => {
    const repo = snapshotRepository().repository as estypes.SnapshotSharedFileSystemRepository;
    expect(repo.type).toBe('fs');
    expect(repo.settings.location).toBe(SNAPSHOT_PATH);
    const es = ofKind(objects, 'Elasticsearch')[0]!;
    const nodeSet = (es.spec as { nodeSets: { config: Record<string, unknown>; podTemplate: { spec: { containers: { volumeMounts: { name: string; mountPath: string }[] }[]; volumes: { name: string; persistentVolumeClaim?: { claimName: string } }[] } } }[] }).nodeSets[0]!;
    expect(nodeSet.config['path.repo']).toEqual([SNAPSHOT_PATH]);
    const mount = nodeSet.podTemplate.spec.containers[0]!.volumeMounts.find((m) => m.mountPath === SNAPSHOT_PATH)!;
    const claim = nodeSet.podTemplate.spec.volumes.find((v) => v.name === mount.name)!.persistentVolumeClaim!.claimName;
    expect(ofKind(objects, 'PersistentVolumeClaim').map((p) => p.metadata.name)).toContain(claim);
  });
});

describe('bodies are typed by @elastic/elasticsearch', () => {
  it('a misspelt field does not type-check (tsc checks this file: an unused @ts-expect-error fails it)', () => {
    const bad: estypes.IlmPutLifecycleRequest = {
      name: 'x',
      // @ts-expect-error `max_agee` is not a rollover condition
      policy: { phases: { hot: { actions: { rollover: { max_agee: '1d' } } } } },
    };
    expect(bad.name).toBe('x');
  });
});

describe('templates', () => {
  it('logs@custom: no replicas (single node) and the platform\'s ILM policy', () => {
    const c = logsCustomComponent();
    expect(c.name).toBe('logs@custom');
    expect(c.template.settings?.index?.number_of_replicas).toBe('0');
    expect(c.template.settings?.index?.lifecycle?.name).toBe(ILM_POLICY);
  });

  it('the index template covers the log data streams above the built-in logs template and composes logs@custom', () => {
    const t = logsIndexTemplate();
    expect(t.index_patterns).toEqual(['logs-*-*']);
    expect(t.data_stream).toEqual({});
    expect(t.priority).toBeGreaterThan(100);
    expect(t.composed_of).toContain(LOGS_CUSTOM);
    const props = t.template!.mappings!.properties as Record<string, { type?: string; properties?: Record<string, { type?: string; properties?: Record<string, { type: string }> }> }>;
    expect(props.event!.properties!.duration!.type).toBe('long');
    expect(props.client!.properties!.ip!.type).toBe('ip');
    expect(props.http!.properties!.request!.properties!.id!.type).toBe('keyword');
    expect(props['@timestamp']!.type).toBe('date');
  });
});

describe('roles', () => {
  it('log-writer only creates documents in the log data streams', () => {
    expect(logWriter.indices).toEqual([{ names: ['logs-*-*'], privileges: ['create_doc', 'auto_configure'] }]);
    expect(logWriter.applications ?? []).toEqual([]);
  });

  it('log-reader reads logs only, and Kibana read-only', () => {
    expect(logReader.cluster).toEqual([]);
    expect(logReader.indices).toEqual([{ names: ['logs-*-*'], privileges: ['read', 'view_index_metadata'] }]);
    expect(logReader.applications?.flatMap((a) => a.privileges)).toEqual(['space_read']);
  });

  it('log-admin manages retention and snapshots', () => {
    expect(logAdmin.cluster).toEqual(expect.arrayContaining(['manage_ilm', 'manage_slm', 'cluster:admin/snapshot/*']));
  });

  it('each user\'s Secret names the role of the same name', () => {
    for (const u of [users.writer, users.reader, users.admin]) {
      const spec = platform.secrets.find((s) => s.name === u.secret)!;
      expect(spec.type).toBe('kubernetes.io/basic-auth');
      expect(spec.keys).toEqual([
        { key: 'username', value: u.username },
        { key: 'password', generate: 'password' },
        { key: 'roles', value: u.username },
      ]);
    }
  });
});

describe('the bootstrap Job', () => {
  const steps = apiSteps();
  const spec = podTemplate(job)!.spec;
  const container = spec.containers[0]!;
  const script = data['bootstrap.sh']!;

  it('applies every body with an idempotent PUT, dependencies first', () => {
    expect(steps.every((s) => s.method === 'PUT')).toBe(true);
    const order = steps.map((s) => s.path);
    const at = (p: string) => order.findIndex((x) => x.startsWith(p));
    expect(at(`/_snapshot/${names.snapshotRepository}`)).toBeLessThan(at(`/_slm/policy/${SLM_POLICY}`));
    expect(at(`/_ilm/policy/${ILM_POLICY}`)).toBeLessThan(at('/_component_template/logs%40custom'));
    expect(at('/_component_template/logs%40custom')).toBeLessThan(at(`/_index_template/${LOGS_TEMPLATE}`));
    for (const r of ['log-writer', 'log-reader', 'log-admin']) expect(order).toContain(`/_security/role/${r}`);
  });

  it('bodies carry no path parameter (the object\'s name or policy id is in the path)', () => {
    for (const s of steps) {
      if (s.path.startsWith('/_slm/')) {
        expect(s.body).not.toHaveProperty('policy_id');
        expect(s.body.name).toBe('<logs-{now/d}>'); // SLM's `name` is the snapshot name pattern, a body field
      } else expect(s.body, s.path).not.toHaveProperty('name');
    }
    expect(steps.find((s) => s.path.startsWith('/_snapshot/'))!.body).toEqual({ type: 'fs', settings: { location: SNAPSHOT_PATH, compress: true } });
  });

  it('the ConfigMap holds exactly the script, the bodies and the saved objects', () => {
    expect(Object.keys(data).sort()).toEqual(['bootstrap.sh', SAVED_OBJECTS_FILE, ...steps.map((s) => s.file)].sort());
    for (const s of steps) expect(JSON.parse(data[s.file]!)).toEqual(s.body);
    expect(data[SAVED_OBJECTS_FILE]).toBe(savedObjectsNdjson());
    expect(script).toBe(bootstrapScript(steps));
  });

  it('waits for Elasticsearch health, PUTs each body, waits for Kibana, imports with overwrite', () => {
    const lines = script.split('\n');
    const waitEs = lines.findIndex((l) => l.includes('_cluster/health?wait_for_status=yellow'));
    expect(lines[waitEs]).toMatch(/^until es .*; do .*sleep \d+; done$/);
    for (const s of steps) {
      const i = lines.findIndex((l) => l.includes(`es -X PUT "$ES${s.path}"`) && l.includes(`@/bodies/${s.file}`));
      expect(i, s.path).toBeGreaterThan(waitEs);
    }
    const waitKb = lines.findIndex((l) => l.includes('$KB/api/status'));
    const imp = lines.findIndex((l) => l.includes('/api/saved_objects/_import?overwrite=true') && l.includes(`file=@/bodies/${SAVED_OBJECTS_FILE}`));
    expect(waitKb).toBeGreaterThan(0);
    expect(imp).toBeGreaterThan(waitKb);
    expect(script).toContain('set -eu');
    expect(script).toContain("'\"success\":true'");
  });

  it('never puts credentials on a command line, verifies both CAs', () => {
    expect(script).not.toMatch(/-u\s|--user\s/);
    expect(script).toContain('--config /tmp/curl-auth');
    expect(script).toContain('--cacert /certs/elasticsearch/ca.crt');
    expect(script).toContain('--cacert /certs/kibana/ca.crt');
    expect(script).not.toMatch(/--insecure|\s-k\s/);
    const secrets = (spec.volumes ?? []).flatMap((v) => (v.secret ? [(v.secret as { secretName: string }).secretName] : []));
    expect(secrets.sort()).toEqual([caSecrets.elasticsearch, caSecrets.kibana].sort());
    expect(container.env?.map((e) => JSON.stringify(e.valueFrom))).toEqual([
      JSON.stringify({ secretKeyRef: { key: 'username', name: users.bootstrap.secret } }),
      JSON.stringify({ secretKeyRef: { key: 'password', name: users.bootstrap.secret } }),
    ]);
  });

  it('is hardened, runs the pinned Elasticsearch image, and is renamed when its content changes', () => {
    expect(container.image).toBe(ELASTICSEARCH_IMAGE);
    expect(container.image).toMatch(/:\d+\.\d+\.\d+$/);
    expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, runAsNonRoot: true });
    expect(spec.automountServiceAccountToken).toBe(false);
    expect(job.metadata.name).toMatch(new RegExp(`^${names.bootstrap}-[0-9a-f]{8}$`));
    expect((job.spec as { ttlSecondsAfterFinished: number }).ttlSecondsAfterFinished).toBeGreaterThan(0);
  });
});

describe('Kibana saved objects', () => {
  const objs = savedObjects();
  const byId = new Map(objs.map((o) => [o.id, o]));

  it('a data view on logs-* with @timestamp', () => {
    expect(byId.get(DATA_VIEW_ID)).toMatchObject({ type: 'index-pattern', attributes: { title: 'logs-*', timeFieldName: '@timestamp' } });
  });

  it('saved searches for errors, a request id and slow requests, on the data view', () => {
    const queries = Object.fromEntries(savedSearches.map((s) => [s.id, s.query.query]));
    expect(queries).toEqual({
      'courseops-errors': '(log.level : "error") or (http.response.status_code >= 500)',
      'courseops-request-by-id': 'http.request.id : *',
      'courseops-slow-requests': 'event.duration >= 1000000000',
    });
    for (const s of savedSearches) {
      const o = byId.get(s.id)!;
      const source = JSON.parse((o.attributes.kibanaSavedObjectMeta as { searchSourceJSON: string }).searchSourceJSON) as { query: { query: string; language: string }; indexRefName: string };
      expect(source.query).toEqual({ query: s.query.query, language: 'kuery' });
      expect(o.references).toEqual([{ name: source.indexRefName, type: 'index-pattern', id: DATA_VIEW_ID }]);
    }
  });

  it('a dashboard with error rate, request volume, response times and user activity by client IP', () => {
    const dashboard = byId.get(DASHBOARD_ID)!;
    const panels = JSON.parse(dashboard.attributes.panelsJSON as string) as { panelRefName: string }[];
    expect(panels).toHaveLength(visualizations.length);
    for (const p of panels) {
      const ref = dashboard.references.find((r) => r.name === p.panelRefName)!;
      expect(byId.get(ref.id)?.type).toBe('visualization');
    }
    const fieldsOf = (id: string) => visualizations.find((v) => v.id === id)!.aggs.map((a) => a.params.field).filter(Boolean);
    expect(visualizations.map((v) => v.id)).toEqual(['courseops-error-rate', 'courseops-request-volume', 'courseops-response-times', 'courseops-user-activity']);
    expect(fieldsOf('courseops-response-times')).toEqual(['event.duration', 'event.duration', '@timestamp']);
    expect(fieldsOf('courseops-user-activity')).toContain('client.ip');
  });

  it('the import file is one object per line, every reference resolving within the file', () => {
    const lines = savedObjectsNdjson().trimEnd().split('\n').map((l) => JSON.parse(l) as { type: string; id: string; references: { type: string; id: string }[] });
    expect(lines).toHaveLength(objs.length);
    const ids = new Set(lines.map((o) => `${o.type}/${o.id}`));
    for (const o of lines) for (const r of o.references) expect(ids, `${o.id} -> ${r.type}/${r.id}`).toContain(`${r.type}/${r.id}`);
  });
});
