/**
 * The Logstash pipelines as typed data, rendered to Logstash's configuration language by `render`.
 * Tests read the same data (inputs, outputs, every field a condition or a sprintf reference names)
 * instead of grepping text, and check the rendered text for what Logstash will parse.
 */

/** A field path: `['url', 'path']` is Logstash's `[url][path]`, ECS `url.path`. */
export type FieldPath = readonly string[];

export type Condition =
  | { readonly exists: FieldPath }
  | { readonly in: FieldPath; readonly values: readonly string[] }
  | { readonly atLeast: FieldPath; readonly value: number }
  | { readonly any: readonly Condition[] }
  | { readonly all: readonly Condition[] };

export type Setting = string | number | boolean | readonly string[] | Readonly<Record<string, string>>;

export interface Plugin {
  readonly plugin: string;
  readonly settings: Readonly<Record<string, Setting>>;
  /** Why the step is there: rendered as a comment above it. */
  readonly why?: string;
}

export interface Branch {
  readonly if: Condition;
  readonly then: readonly Statement[];
  readonly else?: readonly Statement[];
  readonly why?: string;
}

export type Statement = Plugin | Branch;

export interface PipelineDef {
  /** pipelines.yml settings of this pipeline (`pipeline.id`, dead letter queue...). */
  readonly settings: Readonly<Record<string, string | number | boolean>>;
  readonly input: readonly Plugin[];
  readonly filter: readonly Statement[];
  readonly output: readonly Plugin[];
}

const isBranch = (s: Statement): s is Branch => 'if' in s;

export const fieldRef = (f: FieldPath) => f.map((p) => `[${p}]`).join('');
export const dotted = (f: FieldPath) => f.join('.');
/** `%{[a][b]}`: a sprintf reference to a field's value. */
export const sprintf = (f: FieldPath) => `%{${fieldRef(f)}}`;

const quote = (s: string) => `"${s.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;

function renderSetting(v: Setting): string {
  if (typeof v === 'string') return quote(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${(v as readonly string[]).map(quote).join(', ')}]`;
  return `{ ${Object.entries(v as Record<string, string>).map(([k, x]) => `${quote(k)} => ${quote(x)}`).join(' ')} }`;
}

export function renderCondition(c: Condition): string {
  if ('exists' in c) return fieldRef(c.exists);
  if ('in' in c) return `${fieldRef(c.in)} in [${c.values.map(quote).join(', ')}]`;
  // A missing field compares as nil: check presence first so the comparison never sees nil.
  if ('atLeast' in c) return `(${fieldRef(c.atLeast)} and ${fieldRef(c.atLeast)} >= ${c.value})`;
  if ('any' in c) return c.any.map((x) => `(${renderCondition(x)})`).join(' or ');
  return c.all.map((x) => `(${renderCondition(x)})`).join(' and ');
}

function renderStatements(statements: readonly Statement[], indent: string): string[] {
  const lines: string[] = [];
  for (const s of statements) {
    if (s.why) lines.push(`${indent}# ${s.why}`);
    if (isBranch(s)) {
      lines.push(`${indent}if ${renderCondition(s.if)} {`, ...renderStatements(s.then, `${indent}  `));
      if (s.else) lines.push(`${indent}} else {`, ...renderStatements(s.else, `${indent}  `));
      lines.push(`${indent}}`);
    } else {
      const settings = Object.entries(s.settings);
      if (settings.length === 0) lines.push(`${indent}${s.plugin} {}`);
      else lines.push(`${indent}${s.plugin} {`, ...settings.map(([k, v]) => `${indent}  ${k} => ${renderSetting(v)}`), `${indent}}`);
    }
  }
  return lines;
}

/** The pipeline's `config.string`. */
export function render(p: PipelineDef): string {
  return [
    'input {',
    ...renderStatements(p.input, '  '),
    '}',
    'filter {',
    ...renderStatements(p.filter, '  '),
    '}',
    'output {',
    ...renderStatements(p.output, '  '),
    '}',
    '',
  ].join('\n');
}

/** Every plugin of a pipeline section, branches flattened. */
export function plugins(statements: readonly Statement[]): Plugin[] {
  return statements.flatMap((s) => (isBranch(s) ? [...plugins(s.then), ...plugins(s.else ?? [])] : [s]));
}

function conditionFields(c: Condition): FieldPath[] {
  if ('exists' in c) return [c.exists];
  if ('in' in c) return [c.in];
  if ('atLeast' in c) return [c.atLeast];
  return ('any' in c ? c.any : c.all).flatMap(conditionFields);
}

/** Fields the filter's conditions test, as ECS dotted names. */
export function conditionFieldNames(statements: readonly Statement[]): string[] {
  const out = statements.flatMap((s) =>
    isBranch(s) ? [...conditionFields(s.if).map(dotted), ...conditionFieldNames(s.then), ...conditionFieldNames(s.else ?? [])] : [],
  );
  return [...new Set(out)];
}

/** Fields whose values the filter copies with `%{[...]}` references, as ECS dotted names. */
export function sprintfFieldNames(statements: readonly Statement[]): string[] {
  const text = JSON.stringify(plugins(statements).map((p) => p.settings));
  return [...new Set([...text.matchAll(/%\{((?:\[[^\]]+\])+)\}/g)].map((m) => m[1]!.slice(1, -1).split('][').join('.')))];
}
