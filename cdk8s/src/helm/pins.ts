import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

/** ../charts/Chart.yaml: the single list of pinned chart versions (Renovate updates it). */
export const CHART_PINS_FILE = fileURLToPath(new URL('../../../charts/Chart.yaml', import.meta.url));

export interface ChartPin {
  readonly name: string;
  readonly version: string;
  /** https://… Helm repository, or oci://… registry path (the chart is `${repository}/${name}`). */
  readonly repository: string;
}

export function readChartPins(file: string = CHART_PINS_FILE): ReadonlyMap<string, ChartPin> {
  const doc = parse(readFileSync(file, 'utf8')) as { dependencies?: ChartPin[] };
  const pins = new Map<string, ChartPin>();
  for (const dep of doc.dependencies ?? []) {
    if (!dep.name || !dep.version || !dep.repository) throw new Error(`${file}: incomplete dependency ${JSON.stringify(dep)}`);
    if (!/^v?\d+\.\d+\.\d+$/.test(dep.version)) throw new Error(`${file}: ${dep.name} version ${dep.version} is not pinned`);
    if (!/^(https|oci):\/\//.test(dep.repository)) throw new Error(`${file}: ${dep.name} repository ${dep.repository}`);
    pins.set(dep.name, { name: dep.name, version: dep.version, repository: dep.repository });
  }
  return pins;
}
