import { readFileSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { parseAllDocuments } from 'yaml';

/** The CRD files of ../shared/crds (copied byte for byte from upstream tags; see its README). */
export const CRDS_DIR = fileURLToPath(new URL('../../../../shared/crds/', import.meta.url));

type Schema = Record<string, unknown>;
interface Crd {
  kind: 'CustomResourceDefinition';
  spec: { group: string; names: { kind: string }; versions: { name: string; served: boolean; schema?: { openAPIV3Schema: Schema } }[] };
}

/**
 * Makes a CRD schema reject unknown fields, as the API server does on a strict field validation:
 * `additionalProperties: false` wherever an object lists `properties` and neither allows extra
 * properties nor preserves unknown fields. `metadata` of the root stays open (the API server checks it).
 */
export function strictify(schema: Schema, isRoot = true): Schema {
  const out: Schema = { ...schema };
  const props = out.properties as Record<string, Schema> | undefined;
  if (props) {
    out.properties = Object.fromEntries(
      Object.entries(props).map(([k, v]) => [k, isRoot && k === 'metadata' ? v : strictify(v, false)]),
    );
    if (!('additionalProperties' in out) && out['x-kubernetes-preserve-unknown-fields'] !== true) out.additionalProperties = false;
  }
  if (out.items && typeof out.items === 'object') out.items = strictify(out.items as Schema, false);
  if (out.additionalProperties && typeof out.additionalProperties === 'object') {
    out.additionalProperties = strictify(out.additionalProperties as Schema, false);
  }
  for (const key of ['allOf', 'anyOf', 'oneOf'] as const) {
    if (Array.isArray(out[key])) out[key] = (out[key] as Schema[]).map((s) => strictify(s, false));
  }
  return out;
}

/**
 * CRD patterns are Go (RE2) regular expressions; the construct JavaScript lacks here is the `(?i)`
 * flag group (case-insensitive from there on), which becomes the `i` flag for the whole pattern.
 */
const goRegExp = Object.assign(
  (pattern: string, flags: string) =>
    pattern.includes('(?i)') ? new RegExp(pattern.replaceAll('(?i)', ''), `${flags}i`) : new RegExp(pattern, flags),
  { code: 'new RegExp' },
);

export function newAjv(): Ajv {
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true, code: { regExp: goRegExp } });
  (addFormatsModule as unknown as (a: Ajv) => Ajv)(ajv);
  // OpenAPI formats used by Kubernetes schemas that JSON Schema does not define.
  for (const f of ['int32', 'int64', 'double', 'float', 'byte', 'int-or-string', 'quantity', 'duration']) ajv.addFormat(f, true);
  return ajv;
}

/** Validators by `apiVersion kind`, compiled from the given CRD files (paths relative to CRDS_DIR, or absolute). */
export function crdValidators(files: readonly string[], ajv: Ajv = newAjv()): Map<string, ValidateFunction> {
  const validators = new Map<string, ValidateFunction>();
  for (const file of files) {
    for (const doc of parseAllDocuments(readFileSync(isAbsolute(file) ? file : CRDS_DIR + file, 'utf8'))) {
      const crd = doc.toJS() as Crd | null;
      if (crd?.kind !== 'CustomResourceDefinition') continue;
      for (const v of crd.spec.versions) {
        if (!v.served || !v.schema) continue;
        validators.set(`${crd.spec.group}/${v.name} ${crd.spec.names.kind}`, ajv.compile(strictify(v.schema.openAPIV3Schema)));
      }
    }
  }
  return validators;
}
