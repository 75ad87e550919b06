/**
 * Key paths of Helm values: keys joined with ".", a "." inside a key escaped as "\." (so
 * `grafana.grafana\.ini.server` is grafana -> "grafana.ini" -> server). Lists are leaves.
 */
export type KeyKind = 'map' | 'freeform' | 'list' | 'scalar' | 'null';

export const escapeKey = (key: string) => key.replace(/\\/g, '\\\\').replace(/\./g, '\\.');

export function joinPath(parts: readonly string[]): string {
  return parts.map(escapeKey).join('.');
}

export function splitPath(path: string): string[] {
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < path.length; i++) {
    const ch = path[i]!;
    if (ch === '\\' && i + 1 < path.length) {
      cur += path[++i];
    } else if (ch === '.') {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  return parts;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every key path of a values document with the kind of its default value. */
export function keyPaths(doc: unknown, prefix: string[] = [], out: Record<string, KeyKind> = {}): Record<string, KeyKind> {
  if (!isPlainObject(doc)) return out;
  for (const [key, value] of Object.entries(doc)) {
    const path = [...prefix, key];
    const id = joinPath(path);
    if (isPlainObject(value)) {
      out[id] = Object.keys(value).length === 0 ? 'freeform' : 'map';
      keyPaths(value, path, out);
    } else if (Array.isArray(value)) out[id] = 'list';
    else if (value === null || value === undefined) out[id] = 'null';
    else out[id] = 'scalar';
  }
  return out;
}

/** The leaf paths a values object sets (objects are descended, lists and scalars are leaves). */
export function setPaths(values: unknown, prefix: string[] = [], out: string[][] = []): string[][] {
  if (!isPlainObject(values)) return out;
  for (const [key, value] of Object.entries(values)) {
    const path = [...prefix, key];
    if (isPlainObject(value) && Object.keys(value).length > 0) setPaths(value, path, out);
    else out.push(path);
  }
  return out;
}
