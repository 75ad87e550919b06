/**
 * Writes the key list of a chart's values.yaml (charts/values-keys/<chart>.json): every key path and the
 * kind of its default, plus keys the chart documents only in comments (given as a second, hand-written
 * YAML file of those keys). Only key paths are stored, never the upstream file, with one exception:
 * `defaultResources`, the chart's non-empty default `resources` maps (requests and limits, a few
 * quantities each) and the default of their component's `enabled` switch, which Helm merges into
 * ours (cdk8s/src/helm/chart-defaults.ts removes the keys we did not choose).
 *
 *   npx tsx charts/values-keys/extract.ts --chart kube-prometheus-stack --values /tmp/kps-values.yaml \
 *     [--commented /tmp/kps-commented.yaml] --source prometheus-community/helm-charts@<commit>:charts/kube-prometheus-stack/values.yaml \
 *     [--chart-version 88.2.0] [--note "..."]
 *
 * With helm at hand: `helm show values <repo>/<chart> --version <v> > /tmp/values.yaml`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { defaultResources, type DefaultResources } from '../../cdk8s/src/helm/chart-defaults.js';
import { keyPaths, type KeyKind } from '../../cdk8s/src/helm/value-paths.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function loadDocs(file: string): unknown[] {
  // Several YAML documents are merged (the comment lists are written as one document per top-level key).
  return parseAllDocuments(readFileSync(file, 'utf8')).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]?.message}`);
    return doc.toJS() as unknown;
  });
}

function loadKeys(file: string): Record<string, KeyKind> {
  const out: Record<string, KeyKind> = {};
  for (const doc of loadDocs(file)) Object.assign(out, keyPaths(doc));
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
const resourceDefaults: DefaultResources = Object.assign({}, ...loadDocs(valuesFile).map((doc) => defaultResources(doc)));
const out = {
  chart,
  readFrom: { source, chartVersion: arg('chart-version') ?? null, note: arg('note') ?? null },
  generatedBy: 'charts/values-keys/extract.ts',
  keys: sorted(keys),
  commentedKeys: sorted(commented),
  defaultResources: resourceDefaults,
};
const target = new URL(`./${chart}.json`, import.meta.url);
writeFileSync(target, JSON.stringify(out, null, 1) + '\n');
console.log(
  `${chart}: ${Object.keys(keys).length} keys, ${Object.keys(commented).length} documented in comments, ` +
    `${Object.keys(resourceDefaults).length} default resources -> ${target.pathname}`,
);
