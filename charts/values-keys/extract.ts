/**
 * Writes the key list of a chart's values.yaml (charts/values-keys/<chart>.json): every key path and the
 * kind of its default, plus keys the chart documents only in comments (given as a second, hand-written
 * YAML file of those keys). Only key paths are stored, never the upstream file.
 *
 *   npx tsx charts/values-keys/extract.ts --chart kube-prometheus-stack --values /tmp/kps-values.yaml \
 *     [--commented /tmp/kps-commented.yaml] --source prometheus-community/helm-charts@<commit>:charts/kube-prometheus-stack/values.yaml \
 *     [--chart-version 88.2.0] [--note "..."]
 *
 * With helm at hand: `helm show values <repo>/<chart> --version <v> > /tmp/values.yaml`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { keyPaths, type KeyKind } from '../../cdk8s/src/helm/value-paths.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function loadKeys(file: string): Record<string, KeyKind> {
  const out: Record<string, KeyKind> = {};
  // Several YAML documents are merged (the comment lists are written as one document per top-level key).
  for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]?.message}`);
    Object.assign(out, keyPaths(doc.toJS()));
  }
  return out;
}

const chart = arg('chart');
const valuesFile = arg('values');
const source = arg('source');
if (!chart || !valuesFile || !source) {
  console.error('usage: extract.ts --chart NAME --values FILE --source REPO@COMMIT:PATH [--commented FILE] [--chart-version V] [--note TEXT]');
  process.exit(2);
}
const keys = loadKeys(valuesFile);
const commentedFile = arg('commented');
const commented = commentedFile ? loadKeys(commentedFile) : {};
for (const k of Object.keys(commented)) if (k in keys) delete commented[k];
const sorted = (o: Record<string, KeyKind>) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)));
const out = {
  chart,
  readFrom: { source, chartVersion: arg('chart-version') ?? null, note: arg('note') ?? null },
  generatedBy: 'charts/values-keys/extract.ts',
  keys: sorted(keys),
  commentedKeys: sorted(commented),
};
const target = new URL(`./${chart}.json`, import.meta.url);
writeFileSync(target, JSON.stringify(out, null, 1) + '\n');
console.log(`${chart}: ${Object.keys(keys).length} keys, ${Object.keys(commented).length} documented in comments -> ${target.pathname}`);
