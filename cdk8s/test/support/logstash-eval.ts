import { fieldRef, type Condition, type FieldPath, type Plugin, type Statement } from '../../src/logging/pipeline.js';

/**
 * A small model of how Logstash runs the filter section of a typed pipeline (src/logging/pipeline.ts):
 * conditions, and the plugins the pipelines use (mutate add_tag/replace/lowercase/gsub, drop, prune).
 * It lets tests push the services' real log lines through the pipeline's logic; it is no substitute for
 * Logstash itself (a cluster runs that), and throws on any plugin or option it does not model.
 */
export type Event = Record<string, unknown>;

const get = (e: Event, f: FieldPath): unknown => f.reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Event)[k] : undefined), e);
function set(e: Event, f: FieldPath, v: unknown) {
  let o = e;
  for (const k of f.slice(0, -1)) o = (o[k] && typeof o[k] === 'object' ? o[k] : (o[k] = {})) as Event;
  o[f.at(-1)!] = v;
}
const parseRef = (ref: string): FieldPath => ref.slice(1, -1).split('][');
const sprintf = (e: Event, s: string) => s.replace(/%\{((?:\[[^\]]+\])+)\}/g, (m, ref: string) => {
  const v = get(e, parseRef(ref));
  return v === undefined ? m : String(v);
});

export function test(c: Condition, e: Event): boolean {
  if ('exists' in c) {
    const v = get(e, c.exists);
    return v !== undefined && v !== null && v !== false;
  }
  if ('in' in c) return c.values.includes(get(e, c.in) as string);
  if ('atLeast' in c) {
    const v = get(e, c.atLeast);
    return typeof v === 'number' && v >= c.value;
  }
  if ('any' in c) return c.any.some((x) => test(x, e));
  return c.all.every((x) => test(x, e));
}

function mutate(p: Plugin, e: Event) {
  // Logstash's fixed order inside one mutate: replace, gsub, lowercase (then the common add_tag).
  const known = new Set(['replace', 'gsub', 'lowercase', 'add_tag']);
  for (const k of Object.keys(p.settings)) if (!known.has(k)) throw new Error(`mutate ${k} is not modelled`);
  for (const [ref, v] of Object.entries((p.settings.replace ?? {}) as Record<string, string>)) set(e, parseRef(ref), sprintf(e, v));
  const gsub = (p.settings.gsub ?? []) as string[];
  for (let i = 0; i < gsub.length; i += 3) {
    const f = parseRef(gsub[i]!);
    const v = get(e, f);
    if (typeof v === 'string') set(e, f, v.replace(new RegExp(gsub[i + 1]!, 'g'), gsub[i + 2]!));
  }
  for (const ref of (p.settings.lowercase ?? []) as string[]) {
    const v = get(e, parseRef(ref));
    if (typeof v === 'string') set(e, parseRef(ref), v.toLowerCase());
  }
  const tags = (p.settings.add_tag ?? []) as string[];
  if (tags.length) e.tags = [...((e.tags as string[] | undefined) ?? []), ...tags];
}

/** Runs the filter statements on a copy of the event; undefined when the event was dropped. */
export function runFilter(statements: readonly Statement[], input: Event): Event | undefined {
  const e = structuredClone(input);
  const run = (list: readonly Statement[]): boolean => {
    for (const s of list) {
      if ('if' in s) {
        if (!run(test(s.if, e) ? s.then : (s.else ?? []))) return false;
      } else if (s.plugin === 'drop') return false;
      else if (s.plugin === 'mutate') mutate(s, e);
      else if (s.plugin === 'prune') {
        const keep = (s.settings.whitelist_names as string[]).map((r) => new RegExp(r));
        for (const k of Object.keys(e)) if (!keep.some((r) => r.test(k))) delete e[k];
      } else throw new Error(`plugin ${s.plugin} is not modelled`);
    }
    return true;
  };
  return run(statements) ? e : undefined;
}

/** What Filebeat's ndjson parser with `expand_keys: true` makes of a line: dotted keys become objects. */
export function expandKeys(line: Record<string, unknown>): Event {
  const out: Event = {};
  for (const [k, v] of Object.entries(line)) {
    const value = v && typeof v === 'object' && !Array.isArray(v) ? expandKeys(v as Record<string, unknown>) : v;
    const path = k.split('.');
    const existing = get(out, path);
    if (existing && typeof existing === 'object' && value && typeof value === 'object' && !Array.isArray(value)) Object.assign(existing, value);
    else set(out, path, value);
  }
  return out;
}

export { fieldRef };
