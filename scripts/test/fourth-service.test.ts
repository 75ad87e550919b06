import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildPlatform } from '../../cdk8s/src/app.js';
import { services, type ServiceDecl } from '../../cdk8s/src/services.js';
import { render, writeDist } from '../../cdk8s/src/synth.js';
import { loadDist } from '../cluster/inputs.js';
import { buildPlan, renderPlan } from '../cluster/plan.js';
import { devServices } from '../devServices.js';

/**
 * "Adding a service" (cdk8s/README.md): one declaration in services.ts. Everything the repository runs for a
 * service must follow from it; here a fourth one, `grades` (its own database, a route on the api host, a
 * call to the teacher service), is declared beside the real three and looked for everywhere.
 */
const grades: ServiceDecl = {
  name: 'grades',
  description: 'Grades of a course',
  port: 3004,
  replicas: { min: 2, max: 3 },
  resources: { requests: { cpu: '50m', memory: '128Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
  database: { storage: '1Gi' },
  ingress: { host: 'api', path: '/api/grades' },
  calls: [{ service: 'teacher', soft: true, urlEnv: 'TEACHER_SERVICE_URL' }],
  slo: { latencyP95Seconds: 1 },
};
const declared = [...services, grades];
const out = render(buildPlatform({ services: declared }));
type Obj = { kind: string; metadata: { name: string; namespace?: string }; spec?: Record<string, unknown>; data?: Record<string, string> };
const objects = out.objects as Obj[];
const find = (kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name);
const dir = mkdtempSync(path.join(tmpdir(), 'courseops-fourth-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a fourth service follows from its declaration alone', () => {
  it.each([
    ['Rollout', 'grades'],
    ['Service', 'grades'],
    ['Service', 'grades-canary'],
    ['HTTPRoute', 'grades'],
    ['PodDisruptionBudget', 'grades'],
    ['HorizontalPodAutoscaler', 'grades'],
    ['ServiceMonitor', 'grades'],
    ['PrometheusRule', 'grades-rules'],
    ['ConfigMap', 'dashboard-courseops-grades-red'],
    ['AnalysisTemplate', 'grades-canary'],
    ['AnalysisTemplate', 'grades-canary-background'],
    ['NetworkPolicy', 'grades-ingress'],
    ['NetworkPolicy', 'grades-egress'],
    ['StatefulSet', 'grades-postgresql'],
    ['CronJob', 'grades-backup'],
    ['PrometheusRule', 'grades-backup-rules'],
    ['Probe', 'grades-endpoint'],
  ])('%s %s', (kind, name) => {
    expect(find(kind, name), `${kind} ${name}`).toBeDefined();
  });

  it('its alerts carry runbook links and its own thresholds; its canary gate reads the same', () => {
    const alerts = out.files.get('prometheus/rules/grades-alerts.rules.yaml')!;
    expect(alerts).toContain('runbook_url: https://github.com/courseops/courseops/blob/main/docs/runbooks/HighLatencyP95.md');
    expect(alerts).toContain('p95_rate5m{job="grades", namespace="courseops"} > 1\n');
    const gate = (find('AnalysisTemplate', 'grades-canary')!.spec!.metrics as { name: string; successCondition: string }[]).find((m) => m.name === 'latency-p95')!;
    expect(gate.successCondition).toContain('<= 1');
  });

  it('may reach what it calls, and is reached by the gateway', () => {
    const egress = JSON.stringify(find('NetworkPolicy', 'grades-egress')!.spec);
    expect(egress).toContain('"app.kubernetes.io/name":"teacher"');
    const route = JSON.stringify(find('HTTPRoute', 'grades')!.spec);
    expect(route).toContain('/api/grades');
  });

  it('is built, loaded and run by npm run up and npm run dev', () => {
    writeDist(out, path.join(dir, 'dist'));
    const plan = renderPlan(buildPlan({ dist: loadDist(path.join(dir, 'dist')), synth: false })).join('\n');
    expect(plan).toContain('docker build -f services/Dockerfile --build-arg SERVICE=grades --build-arg PORT=3004 -t courseops/grades:dev .');
    expect(plan).toContain('kind load docker-image courseops/grades:dev --name courseops');
    // The backup image is built on the databases' own PostgreSQL image, named once (cdk8s/src/data/postgresql.ts).
    expect(plan).toContain('docker build -f scripts/backup/Dockerfile --build-arg POSTGRES_IMAGE=docker.io/library/postgres:18.6 -t courseops/backup:dev .');
    expect(devServices(declared, () => 'x').find((s) => s.name === 'grades')).toMatchObject({ port: 3004, env: { TEACHER_SERVICE_URL: 'http://localhost:3002' } });
  });
});
