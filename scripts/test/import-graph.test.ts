import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The repository's own import graph (relative imports, `import type` included): no two files import each
 * other in a loop, and the cdk8s app, the single source of truth, depends on nothing under scripts/.
 */
const root = path.resolve(import.meta.dirname, '../..');
const sourceRoots = ['cdk8s/src', 'services/kit/src', 'services/course/src', 'services/teacher/src', 'services/status/src', 'scripts'];

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir)) {
    const p = path.join(dir, entry);
    if (['node_modules', 'dist', 'test', 'imports'].includes(entry)) continue;
    if (statSync(p).isDirectory()) sourceFiles(p, out);
    else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const graph = new Map<string, string[]>();
for (const file of sourceRoots.flatMap((r) => sourceFiles(path.join(root, r)))) {
  const text = readFileSync(file, 'utf8');
  const targets = [...text.matchAll(/^(?:import|export)\b[^;]*?\bfrom '(\.{1,2}\/[^']+)'/gms)]
    .map((m) => path.resolve(path.dirname(file), m[1]!).replace(/\.js$/, '.ts'))
    .filter((t) => existsSync(t));
  graph.set(file, targets);
}
const rel = (f: string) => path.relative(root, f);

describe('the import graph', () => {
  it('reads the sources (a sanity check of the walk itself)', () => {
    expect(graph.size).toBeGreaterThan(150);
    expect(graph.get(path.join(root, 'cdk8s/src/app.ts'))?.map(rel)).toContain('cdk8s/src/services.ts');
  });

  it('has no loop', () => {
    const state = new Map<string, 'open' | 'done'>();
    const stack: string[] = [];
    const loops: string[] = [];
    const visit = (file: string) => {
      state.set(file, 'open');
      stack.push(file);
      for (const next of graph.get(file) ?? []) {
        if (state.get(next) === 'open') loops.push([...stack.slice(stack.indexOf(next)), next].map(rel).join(' -> '));
        else if (!state.has(next)) visit(next);
      }
      stack.pop();
      state.set(file, 'done');
    };
    for (const file of graph.keys()) if (!state.has(file)) visit(file);
    expect(loops).toEqual([]);
  });

  it('keeps cdk8s/src free of scripts/', () => {
    const offending = [...graph].filter(([f]) => rel(f).startsWith('cdk8s/src/')).flatMap(([f, ts]) => ts.filter((t) => rel(t).startsWith('scripts/')).map((t) => `${rel(f)} -> ${rel(t)}`));
    expect(offending).toEqual([]);
  });
});
