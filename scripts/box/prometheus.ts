/**
 * The real Prometheus 3 (the version kube-prometheus-stack runs) on the configuration the Prometheus
 * Operator generated in the box. Out of cluster, three things of the pod are missing, and only those are
 * done here: the config reloader's substitution of $(VAR) from its container env (SHARD, POD_NAME: read
 * from the StatefulSet the operator made), the in-cluster service account (each kubernetes_sd_config
 * gets the box's kubeconfig instead) and the rule ConfigMaps mounted under /etc/prometheus/rules
 * (written to files at the same relative paths).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parse, stringify } from 'yaml';
import { ensureTool } from './build.js';
import { kubectlJson, startProcess, waitFor, type BoxState } from './control-plane.js';
import { boxGet } from './operators.js';

/** Where the operator mounts rule ConfigMaps in the Prometheus pod (pkg/prometheus RulesDir, v0.93.0). */
export const OPERATOR_RULES_DIR = '/etc/prometheus/rules';

export interface GeneratedConfig {
  /** prometheus.yaml as the operator wrote it (Secret prometheus-<name>, key prometheus.yaml.gz). */
  readonly text: string;
  /** The config reloader's env in the operator's StatefulSet, as the pod prometheus-<name>-0 would get it. */
  readonly reloaderEnv: Record<string, string>;
  /** Rule ConfigMaps prometheus-<name>-rulefiles-<n>: name -> file -> content. */
  readonly ruleConfigMaps: Record<string, Record<string, string>>;
}

export function readGeneratedConfig(state: BoxState, namespace: string, prometheus: string): GeneratedConfig {
  const secret = kubectlJson<{ data: Record<string, string> }>(state, ['get', 'secret', `prometheus-${prometheus}`, '-n', namespace]);
  const gz = secret.data['prometheus.yaml.gz'];
  if (!gz) throw new Error(`secret prometheus-${prometheus} has no prometheus.yaml.gz`);
  const text = gunzipSync(Buffer.from(gz, 'base64')).toString('utf8');
  const cms = kubectlJson<{ items: { metadata: { name: string }; data?: Record<string, string> }[] }>(state, ['get', 'configmaps', '-n', namespace]).items;
  const ruleConfigMaps = Object.fromEntries(cms.filter((c) => c.metadata.name.startsWith(`prometheus-${prometheus}-rulefiles-`)).map((c) => [c.metadata.name, c.data ?? {}]));
  const sts = kubectlJson<{ spec: { template: { spec: { containers: { name: string; env?: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[] }[] } } } }>(
    state, ['get', 'statefulset', `prometheus-${prometheus}`, '-n', namespace],
  );
  const reloader = sts.spec.template.spec.containers.find((c) => c.name === 'config-reloader');
  if (!reloader) throw new Error(`statefulset prometheus-${prometheus} has no config-reloader container`);
  const reloaderEnv: Record<string, string> = {};
  for (const e of reloader.env ?? []) {
    if (e.value !== undefined) reloaderEnv[e.name] = e.value;
    else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.name') reloaderEnv[e.name] = `prometheus-${prometheus}-0`;
  }
  return { text, ruleConfigMaps, reloaderEnv };
}

/** What prometheus-config-reloader does with --config-envsubst-file: $(NAME) becomes the env value. */
export function envsubst(text: string, env: Record<string, string>): string {
  return text.replace(/\$\(([a-zA-Z_0-9]+)\)/g, (whole, name: string) => env[name] ?? whole);
}

type SdConfig = Record<string, unknown>;
interface PromConfig {
  rule_files?: string[];
  scrape_configs?: { kubernetes_sd_configs?: SdConfig[] }[];
  alerting?: { alertmanagers?: { kubernetes_sd_configs?: SdConfig[] }[] };
}

/** The generated configuration, runnable out of cluster from `dir` (see the header for what changes). */
export function outOfClusterConfig(generated: GeneratedConfig, dir: string, kubeconfig: string): string {
  const config = parse(envsubst(generated.text, generated.reloaderEnv)) as PromConfig;
  const rulesDir = join(dir, 'rules');
  for (const [cm, files] of Object.entries(generated.ruleConfigMaps)) {
    mkdirSync(join(rulesDir, cm), { recursive: true });
    for (const [file, content] of Object.entries(files)) writeFileSync(join(rulesDir, cm, file), content);
  }
  config.rule_files = (config.rule_files ?? []).map((f) => f.replace(OPERATOR_RULES_DIR, rulesDir));
  const sds = [...(config.scrape_configs ?? []), ...(config.alerting?.alertmanagers ?? [])].flatMap((c) => c.kubernetes_sd_configs ?? []);
  for (const sd of sds) sd.kubeconfig_file = kubeconfig;
  return stringify(config);
}

export interface RunningPrometheus {
  readonly url: string;
  query(expr: string): { metric: Record<string, string>; value: [number, string] }[];
}

export async function startPrometheus(state: BoxState, generated: GeneratedConfig): Promise<RunningPrometheus> {
  const bin = (await ensureTool('prometheus')).prometheus!;
  const dir = join(state.dir, 'prometheus');
  mkdirSync(join(dir, 'data'), { recursive: true });
  const file = join(dir, 'prometheus.yaml');
  writeFileSync(file, outOfClusterConfig(generated, dir, state.kubeconfig));
  const url = 'http://127.0.0.1:9090';
  startProcess(state, 'prometheus', [bin, `--config.file=${file}`, `--storage.tsdb.path=${join(dir, 'data')}`, '--web.listen-address=127.0.0.1:9090']);
  await waitFor(state, 'Prometheus to be ready', () => boxGet(state, `${url}/-/ready`) !== undefined, 60_000, 'prometheus');
  return {
    url,
    query(expr) {
      const body = boxGet(state, `${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
      if (!body) throw new Error(`query failed: ${expr}`);
      const parsed = JSON.parse(body) as { status: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
      return parsed.data.result;
    },
  };
}
