import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The repository's own import graph (relative imports, `import type` included): no two files import each
 * other in a loop, the cdk8s app, the single source of truth, depends on nothing under scripts/, and a Helm
 * release's module depends on nothing that uses a release (the parts that talk to a chart import its module,
 * never the other way round).
 */
const root = path.resolve(import.meta.dirname, '../..');
const servicePackages = readdirSync(path.join(root, 'services'))
  .map((name) => `services/${name}/src`)
  .filter((dir) => existsSync(path.join(root, dir)));
const sourceRoots = ['cdk8s/src', ...servicePackages, 'scripts'];

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

/** Every file `file` imports, directly or through others. */
function reachable(file: string): Set<string> {
  const seen = new Set<string>();
  const walk = (f: string) => {
    for (const next of graph.get(f) ?? []) if (!seen.has(next)) (seen.add(next), walk(next));
  };
  walk(file);
  return seen;
}
const releaseModules = [...graph.keys()].filter((f) => rel(f).startsWith('cdk8s/src/helm/releases/'));

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

  it('keeps every release module free of the parts that use a release', () => {
    expect(releaseModules.map(rel)).toContain('cdk8s/src/helm/releases/prometheus-pushgateway.ts');
    // A consumer: a cdk8s module outside helm/ that reaches a release module (the gateway, the backups, ...).
    const consumers = new Set(
      [...graph.keys()].filter((f) => rel(f).startsWith('cdk8s/src/') && !rel(f).startsWith('cdk8s/src/helm/') && releaseModules.some((r) => reachable(f).has(r))),
    );
    expect(consumers.size).toBeGreaterThan(5);
    const offending = releaseModules.flatMap((r) => [...reachable(r)].filter((f) => consumers.has(f)).map((f) => `${rel(r)} -> ${rel(f)}`));
    expect(offending).toEqual([]);
  });
});
