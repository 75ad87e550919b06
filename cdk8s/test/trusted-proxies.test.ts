import { readFileSync } from 'node:fs';
import { commonEnvSchema, readEnv } from '@courseops/kit';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CLUSTER_POD_CIDR } from '../src/config.js';
import { serviceNames } from '../src/microservice/mixin.js';
import { services } from '../src/services.js';
import { ofKind, podTemplate, synthesized, type K8sObject } from './support/platform.js';

/**
 * API.md "limits": in the cluster a service believes X-Forwarded-For from the ingress controller's pods and
 * the courseops services' pods, which is the pod network: TRUSTED_PROXIES is that range, on every service.
 */
const { objects } = synthesized();
const configMapOf = (service: string) =>
  ofKind(objects, 'ConfigMap').find((o) => o.metadata.name === serviceNames(service).configMap) as (K8sObject & { data: Record<string, string> }) | undefined;

describe('TRUSTED_PROXIES', () => {
  it('is kind’s pod network, the range kind-config.yaml gives the cluster', () => {
    expect(CLUSTER_POD_CIDR).toBe('10.244.0.0/16');
    const kindConfig = parse(readFileSync(new URL('../../kind-config.yaml', import.meta.url), 'utf8')) as { networking?: { podSubnet?: string } };
    // Unset means kind's default, 10.244.0.0/16; a podSubnet set there must be moved here too.
    expect(kindConfig.networking?.podSubnet ?? '10.244.0.0/16').toBe(CLUSTER_POD_CIDR);
  });

  it.each(services.map((s) => s.name))('%s: reaches the container in its ConfigMap, in a form the service accepts at start', (name) => {
    const configMap = configMapOf(name);
    expect(configMap?.data.TRUSTED_PROXIES).toBe(CLUSTER_POD_CIDR);
    const rollout = ofKind(objects, 'Rollout').find((o) => o.metadata.name === serviceNames(name).workload)!;
    const container = podTemplate(rollout)!.spec.containers.find((c) => c.name === name) as { envFrom?: { configMapRef?: { name: string } }[]; env?: { name: string }[] };
    expect(container.envFrom).toContainEqual({ configMapRef: { name: serviceNames(name).configMap } });
    expect(container.env?.map((e) => e.name)).not.toContain('TRUSTED_PROXIES');
    expect(readEnv(commonEnvSchema, configMap!.data).TRUSTED_PROXIES).toEqual([CLUSTER_POD_CIDR]);
  });

  it.each(services.map((s) => s.name))('%s: admits only pods, never an address block, so every peer that can forward is in that range', (name) => {
    const policy = ofKind(objects, 'NetworkPolicy').find((o) => o.metadata.name === `${name}-ingress`)!;
    const peers = (policy.spec as { ingress: { from: Record<string, unknown>[] }[] }).ingress.flatMap((rule) => rule.from);
    expect(peers.length).toBeGreaterThan(0);
    for (const peer of peers) {
      expect(peer).not.toHaveProperty('ipBlock');
      expect(peer).toHaveProperty('podSelector');
    }
  });
});
