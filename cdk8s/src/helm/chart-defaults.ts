import { readFileSync } from 'node:fs';
import { joinPath, splitPath } from './value-paths.js';

/**
 * Chart default `resources` we did not choose.
 *
 * Helm merges our values into the chart's values.yaml map by map, so a default key we leave out survives
 * next to ours: eck-operator 3.5.0 defaults to `resources: {requests: {cpu: 100m, memory: 150Mi}, limits:
 * {cpu: 1, memory: 1Gi}}`, and our `{requests: {cpu, memory}, limits: {memory}}` would still run the
 * operator with a 1-CPU limit nobody chose. Setting a key to null removes it in the merge, but only where
 * the chart has a default: Helm 4 keeps (and renders) a null for a key the chart lacks, so nulling
 * blindly (say `limits.cpu: null` everywhere) would put `cpu: null` into objects. Hence this is driven by
 * the defaults recorded from the pinned values.yaml (`defaultResources` in charts/values-keys/<chart>.json,
 * written by charts/values-keys/extract.ts): every default key under a `resources` map we set, and that
 * we do not set, becomes null.
 */

/** A chart's default of one `resources` value (a ResourceRequirements map: requests, limits, claims). */
export type ResourceRequirementsDefault = Readonly<Record<string, unknown>>;

export interface DefaultResource {
  readonly value: ResourceRequirementsDefault;
  /** The default of the sibling `enabled` switch, when the resources belong to an optional component. */
  readonly enabled?: boolean;
}

/** Key path (value-paths.ts syntax) of a `resources` value -> the chart's default there. */
export type DefaultResources = Readonly<Record<string, DefaultResource>>;

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The non-empty `resources` maps of a values document (what extract.ts records). */
export function defaultResources(doc: unknown, prefix: string[] = [], out: Record<string, DefaultResource> = {}): Record<string, DefaultResource> {
  if (!isMap(doc)) return out;
  for (const [key, value] of Object.entries(doc)) {
    if (!isMap(value)) continue;
    const path = [...prefix, key];
    if (key === 'resources' && Object.keys(value).length > 0) {
      out[joinPath(path)] = { value, ...(typeof doc.enabled === 'boolean' ? { enabled: doc.enabled } : {}) };
    } else defaultResources(value, path, out);
  }
  return out;
}

const KEYS_DIR = new URL('../../../charts/values-keys/', import.meta.url);
const cache = new Map<string, DefaultResources>();

/** The recorded defaults of a chart (charts/values-keys/<chart>.json). */
export function readDefaultResources(chart: string): DefaultResources {
  let d = cache.get(chart);
  if (!d) {
    const file = JSON.parse(readFileSync(new URL(`${chart}.json`, KEYS_DIR), 'utf8')) as { defaultResources?: DefaultResources };
    if (!file.defaultResources) throw new Error(`charts/values-keys/${chart}.json has no defaultResources: regenerate it with extract.ts`);
    d = file.defaultResources;
    cache.set(chart, d);
  }
  return d;
}

/** The defaults of a release's chart and of its subcharts (kube-prometheus-stack -> grafana, ...), by top-level key. */
export function releaseDefaultResources(keys: { readonly chart: string; readonly subcharts?: Readonly<Record<string, string>> }): DefaultResources {
  const out: Record<string, DefaultResource> = { ...readDefaultResources(keys.chart) };
  for (const [key, sub] of Object.entries(keys.subcharts ?? {})) {
    for (const [path, d] of Object.entries(readDefaultResources(sub))) out[joinPath([key, ...splitPath(path)])] = d;
  }
  return out;
}

/** The value at a key path, or undefined. */
export function valueAt(values: unknown, path: readonly string[]): unknown {
  let cur = values;
  for (const key of path) {
    if (!isMap(cur)) return undefined;
    cur = cur[key];
  }
  return cur;
}

/** `ours` with null for each key of the chart's default that `ours` does not set (one level into requests/limits). */
function nullUnchosen(ours: Record<string, unknown>, chartDefault: ResourceRequirementsDefault): Record<string, unknown> {
  const out: Record<string, unknown> = { ...ours };
  for (const [key, def] of Object.entries(chartDefault)) {
    const mine = out[key];
    if (mine === undefined) out[key] = null;
    else if (isMap(mine) && isMap(def)) out[key] = nullUnchosen(mine, def);
  }
  return out;
}

function replaceAt(values: Record<string, unknown>, path: readonly string[], value: unknown): Record<string, unknown> {
  const [head, ...rest] = path;
  const child = values[head!];
  return { ...values, [head!]: rest.length === 0 ? value : replaceAt(isMap(child) ? child : {}, rest, value) };
}

/**
 * The values with every chart default resource key we did not choose set to null, wherever we set the
 * `resources` of a component. A component whose resources we do not set at all keeps the chart's
 * (the Helm values test requires those to be disabled components).
 */
export function withoutUnchosenDefaults(values: object, defaults: DefaultResources): object {
  let out = values as Record<string, unknown>;
  for (const [path, d] of Object.entries(defaults)) {
    const parts = splitPath(path);
    const ours = valueAt(out, parts);
    if (isMap(ours)) out = replaceAt(out, parts, nullUnchosen(ours, d.value));
  }
  return out;
}
