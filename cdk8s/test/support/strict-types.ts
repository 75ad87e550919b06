import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import ts from 'typescript';

/**
 * Unknown-field check for core Kubernetes kinds. kubernetes-models' validate() checks types, enums and
 * required fields but accepts unknown properties; this walks an object against the same package's
 * TypeScript declarations (one interface per OpenAPI definition) and reports every property the
 * declared type does not have. Maps (`Record<string, string>`) are index signatures and accept any key.
 */
const require = createRequire(import.meta.url);
const modelsRoot = dirname(require.resolve('kubernetes-models/package.json'));

export class StrictTypes {
  private readonly program: ts.Program;
  private readonly checker: ts.TypeChecker;
  private readonly cache = new Map<string, ts.Type>();

  /** `files`: declaration files relative to kubernetes-models, e.g. "apps/v1/Deployment.d.ts". */
  constructor(files: readonly string[]) {
    this.program = ts.createProgram(
      files.map((f) => join(modelsRoot, f)),
      { noEmit: true, skipLibCheck: true, types: [], moduleResolution: ts.ModuleResolutionKind.Node10, module: ts.ModuleKind.CommonJS },
    );
    this.checker = this.program.getTypeChecker();
  }

  /** The type of interface `name` exported by declaration file `file` (relative to kubernetes-models). */
  typeOf(file: string, name: string): ts.Type {
    const key = `${file}#${name}`;
    const hit = this.cache.get(key);
    if (hit) return hit;
    const source = this.program.getSourceFile(join(modelsRoot, file));
    if (!source) throw new Error(`kubernetes-models has no ${file}`);
    const moduleSymbol = this.checker.getSymbolAtLocation(source);
    const symbol = moduleSymbol && this.checker.getExportsOfModule(moduleSymbol).find((s) => s.name === name);
    if (!symbol) throw new Error(`${file} does not export ${name}`);
    const type = this.checker.getDeclaredTypeOfSymbol(symbol);
    this.cache.set(key, type);
    return type;
  }

  /** Paths of properties present in `value` but absent from `type`. */
  unknownFields(value: unknown, type: ts.Type, path = ''): string[] {
    if (value === null || typeof value !== 'object') return [];
    const t = this.checker.getNonNullableType(type);
    if (Array.isArray(value)) {
      const element = this.elementType(t);
      return element ? value.flatMap((v, i) => this.unknownFields(v, element, `${path}[${i}]`)) : [];
    }
    const candidates = t.isUnion() ? t.types.filter((u) => u.flags & ts.TypeFlags.Object) : [t];
    if (candidates.length === 0) return [];
    let best: string[] | undefined;
    for (const candidate of candidates) {
      const problems: string[] = [];
      for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
        const prop = this.checker.getPropertyOfType(candidate, key);
        if (prop) {
          problems.push(...this.unknownFields(child, this.checker.getTypeOfSymbol(prop), `${path}.${key}`));
          continue;
        }
        const index = this.checker.getIndexInfoOfType(candidate, ts.IndexKind.String);
        if (index) problems.push(...this.unknownFields(child, index.type, `${path}.${key}`));
        else problems.push(`${path}.${key}`);
      }
      if (!best || problems.length < best.length) best = problems;
      if (problems.length === 0) break;
    }
    return best ?? [];
  }

  private elementType(t: ts.Type): ts.Type | undefined {
    if (this.checker.isArrayType(t) || this.checker.isTupleType(t)) return this.checker.getTypeArguments(t as ts.TypeReference)[0];
    return this.checker.getIndexInfoOfType(t, ts.IndexKind.Number)?.type;
  }
}
