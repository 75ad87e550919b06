import { describe, expect, it } from 'vitest';
import { ns } from '../src/namespaces.js';
import { METRICS_SERVER_PORT, RESOURCE_METRICS } from '../src/helm/releases/metrics-server.js';
import { ofKind, synthesized, type K8sObject } from './support/platform.js';

/**
 * The HPAs scale only if something serves the resource metrics API: kind ships no metrics-server, so the
 * platform installs one, and every HPA asks only for a metric it serves (CPU or memory of the pods).
 */
const { objects, platform } = synthesized();
const hpas = ofKind(objects, 'HorizontalPodAutoscaler');

type Metric = { type: string; resource?: { name: string; target: { type: string } } };
type PolicySpec = { ingress?: { from?: { ipBlock?: unknown }[]; ports?: { port: number }[] }[]; egress?: { to?: { ipBlock?: unknown }[]; ports?: { port: number }[] }[] };

const release = platform.releases.find((r) => r.chart === 'metrics-server');
const values = release?.values as
  | { args: string[]; apiService: { create: boolean }; resources: { requests: object; limits: { memory: string } }; podSecurityContext: { runAsNonRoot: boolean }; securityContext: Record<string, unknown> }
  | undefined;

describe('the HPAs have the resource metrics API they read', () => {
  it('there are HPAs to serve (one per service)', () => {
    expect(hpas.length).toBeGreaterThan(0);
  });

  it.each(hpas.map((h) => [h.metadata.name!, h] as const))('%s asks only for resource metrics metrics-server serves', (_n, hpa: K8sObject) => {
    const metrics = (hpa.spec as { metrics: Metric[] }).metrics;
    expect(metrics.length).toBeGreaterThan(0);
    for (const m of metrics) {
      // Pods/Object/External metrics need a custom or external metrics adapter, which the platform does not run.
      expect(m.type).toBe('Resource');
      expect(RESOURCE_METRICS).toContain(m.resource!.name);
    }
  });

  it('a pinned metrics-server release registers the metrics.k8s.io APIService', () => {
    expect(release).toBeDefined();
    expect(release!.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(release!.repo).toBe('https://kubernetes-sigs.github.io/metrics-server/');
    expect(values!.apiService.create).toBe(true);
  });

  it("metrics-server accepts kind's self-signed kubelet serving certificates", () => {
    expect(values!.args).toContain('--kubelet-insecure-tls');
  });

  it('metrics-server is hardened and sized by us, in a restricted namespace', () => {
    expect(release!.namespace).toBe(ns.metricsServer.name);
    expect(ns.metricsServer.psa).toBe('restricted');
    expect(values!.podSecurityContext.runAsNonRoot).toBe(true);
    expect(values!.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(values!.resources.requests).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
    expect(values!.resources.limits.memory).toBeDefined();
    expect(release!.footprint.length).toBe(1);
  });

  it('the API server reaches metrics-server, and metrics-server reaches the kubelets', () => {
    const policies = ofKind(objects, 'NetworkPolicy').filter((p) => p.metadata.namespace === ns.metricsServer.name);
    const ingressPorts = policies.flatMap((p) => (p.spec as PolicySpec).ingress ?? []).filter((r) => r.from?.some((f) => f.ipBlock)).flatMap((r) => r.ports?.map((x) => x.port) ?? []);
    const egressPorts = policies.flatMap((p) => (p.spec as PolicySpec).egress ?? []).filter((r) => r.to?.some((t) => t.ipBlock)).flatMap((r) => r.ports?.map((x) => x.port) ?? []);
    expect(ingressPorts).toContain(METRICS_SERVER_PORT);
    // The API server (443/6443 for its own calls) and each node's kubelet (10250).
    expect(egressPorts).toEqual(expect.arrayContaining([443, 6443, 10250]));
  });
});
