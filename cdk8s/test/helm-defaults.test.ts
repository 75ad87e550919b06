import { describe, expect, it } from 'vitest';
import { releaseDefaultResources, valueAt, withoutUnchosenDefaults, type DefaultResources } from '../src/helm/chart-defaults.js';
import { eckOperatorValues } from '../src/helm/releases/eck-operator.js';
import { joinPath, splitPath } from '../src/helm/value-paths.js';
import { synthesized } from './support/platform.js';

/**
 * No chart default resource we did not choose: Helm merges the chart's values.yaml under ours, so every
 * `resources` the chart sets by default (recorded from the pinned values.yaml in
 * charts/values-keys/<chart>.json `defaultResources`, subcharts included) is merged here the way Helm
 * does, and what comes out must be exactly what our typed values chose.
 */
const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Helm's coalescing of user values over chart defaults (pkg/chart/common/util/coalesce.go, Helm 4): a
 * default fills a key the user leaves out; a user null removes a default; a user null for a key the chart
 * does not have is kept (and rendered as null).
 */
function helmCoalesce(user: Record<string, unknown>, defaults: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...user };
  for (const [key, def] of Object.entries(defaults)) {
    if (!(key in out)) out[key] = def;
    else if (out[key] === null && def !== null) delete out[key];
    else if (isMap(out[key]) && isMap(def)) out[key] = helmCoalesce(out[key] as Record<string, unknown>, def);
  }
  return out;
}

/** Our choice: the values without the nulls (which only undo chart defaults). */
function chosen(v: unknown): unknown {
  if (!isMap(v)) return v;
  return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== null).map(([k, x]) => [k, chosen(x)]));
}

const hasNull = (v: unknown): boolean => v === null || (isMap(v) && Object.values(v).some(hasNull));

/** Merged resources that differ from our choice, and default resources of running components we did not size. */
function problems(values: object, defaults: DefaultResources): string[] {
  const out: string[] = [];
  for (const [path, d] of Object.entries(defaults)) {
    const parts = splitPath(path);
    const ours = valueAt(values, parts);
    if (ours === undefined) {
      const enabled = valueAt(values, [...parts.slice(0, -1), 'enabled']) ?? d.enabled;
      if (enabled !== false) out.push(`${path}: the chart's default ${JSON.stringify(d.value)} applies to a component we run but did not size`);
      continue;
    }
    if (!isMap(ours)) {
      out.push(`${path}: not a map`);
      continue;
    }
    const merged = helmCoalesce(ours, d.value);
    if (hasNull(merged)) out.push(`${path}: a null reaches the chart's templates: ${JSON.stringify(merged)}`);
    else if (JSON.stringify(chosen(merged)) !== JSON.stringify(chosen(ours))) {
      out.push(`${path}: Helm renders ${JSON.stringify(merged)}, we chose ${JSON.stringify(chosen(ours))}`);
    }
  }
  return out;
}

const { platform } = synthesized();

describe('no chart default resource we did not choose', () => {
  it.each(platform.releases.map((r) => [r.name, r] as const))('%s: Helm renders exactly our resources', (_n, release) => {
    expect(problems(release.values, releaseDefaultResources(release.keys))).toEqual([]);
  });

  it('eck-operator: the chart default limits.cpu "1" would survive without the helper, and is removed with it', () => {
    const release = platform.releases.find((r) => r.chart === 'eck-operator')!;
    const defaults = releaseDefaultResources(release.keys);
    // Recorded from elastic/cloud-on-k8s v3.5.0 deploy/eck-operator/values.yaml.
    expect(defaults.resources?.value).toMatchObject({ limits: { cpu: 1 } });
    const raw = eckOperatorValues();
    expect(problems(raw, defaults)).toEqual([expect.stringContaining('"cpu":1')]);
    expect(helmCoalesce({ ...raw.resources }, defaults.resources!.value as Record<string, unknown>)).toMatchObject({ limits: { cpu: 1 } });
    // The synthesized values carry the null that removes it, and nothing else changes.
    expect((release.values as { resources: unknown }).resources).toEqual({ ...raw.resources, limits: { ...raw.resources.limits, cpu: null } });
  });

  it('nulls only keys the chart has (Helm keeps a null for a key the chart lacks)', () => {
    const defaults: DefaultResources = { 'a.resources': { value: { requests: { cpu: '100m' } } } };
    const values = { a: { resources: { requests: { cpu: '10m', memory: '8Mi' }, limits: { memory: '16Mi' } } } };
    expect(withoutUnchosenDefaults(values, defaults)).toEqual(values);
    const withLimit: DefaultResources = { 'a.resources': { value: { limits: { cpu: 1, 'ephemeral-storage': '1Gi' } } } };
    expect(withoutUnchosenDefaults(values, withLimit)).toEqual({
      a: { resources: { requests: { cpu: '10m', memory: '8Mi' }, limits: { memory: '16Mi', cpu: null, 'ephemeral-storage': null } } },
    });
  });

  it('a component the chart sizes by default must be sized by us, or be disabled', () => {
    const defaults: DefaultResources = {
      'sidecar.resources': { value: { limits: { cpu: '1' } }, enabled: false },
      'main.resources': { value: { limits: { cpu: '1' } } },
    };
    expect(problems({}, defaults)).toEqual([expect.stringMatching(/^main\.resources: /)]);
    expect(problems({ sidecar: { enabled: true } }, defaults)).toHaveLength(2);
  });

  it('subchart defaults are checked under their top-level key', () => {
    // Any recorded chart serves as a subchart here: its defaults move under the key the parent gives it.
    const d = releaseDefaultResources({ chart: 'kube-prometheus-stack', subcharts: { operator: 'eck-operator', 'a.b': 'metrics-server' } });
    expect(Object.keys(d)).toEqual(expect.arrayContaining(['operator.resources', joinPath(['a.b', 'resources'])]));
  });
});
