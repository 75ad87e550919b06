/**
 * A re-apply must not reset a canary's traffic split. Our HTTPRoutes carry no weights (the Argo Rollouts
 * Gateway API plugin owns them), but in the Gateway API CRDs `rules` and `backendRefs` are atomic lists:
 * a server-side apply of the route as synthesized replaces the whole list, every `weight` falls back to
 * its default of 1, and until the plugin's next reconcile the canary gets half the traffic (the box test
 * shows it). So before a manifest file is applied, each HTTPRoute a Rollout in the same file routes
 * through gets the weights the live route has now: the apply then changes nothing the plugin set, while
 * any other change to the route (paths, hosts, filters) still goes through.
 */
import { readFileSync } from 'node:fs';
import { parseAllDocuments, stringify } from 'yaml';
import { gatewayApiPlugin } from '../../cdk8s/src/helm/releases/argo-rollouts.js';
import { runChecked, type Cmd, type Runner } from './commands.js';


interface Doc {
  kind?: string;
  metadata?: { name?: string; namespace?: string };
  spec?: {
    rules?: { backendRefs?: { name: string; weight?: number }[] }[];
    strategy?: { canary?: { trafficRouting?: { plugins?: Record<string, { httpRoute?: string; namespace?: string }> } } };
  };
}

/** `namespace/name` of every HTTPRoute a Rollout of these documents names for the plugin. */
export function pluginRoutes(docs: readonly Doc[]): Set<string> {
  const routes = new Set<string>();
  for (const d of docs) {
    if (d.kind !== 'Rollout') continue;
    const cfg = d.spec?.strategy?.canary?.trafficRouting?.plugins?.[gatewayApiPlugin.name];
    if (cfg?.httpRoute) routes.add(`${cfg.namespace ?? d.metadata?.namespace}/${cfg.httpRoute}`);
  }
  return routes;
}

/** The route as synthesized, with each backendRef's weight taken from the live route's backendRef of the same name and rule. */
export function withWeights(route: Doc, live: Doc): Doc {
  const rules = route.spec?.rules?.map((rule, i) => ({
    ...rule,
    backendRefs: rule.backendRefs?.map((ref) => {
      const weight = live.spec?.rules?.[i]?.backendRefs?.find((b) => b.name === ref.name)?.weight;
      return weight === undefined ? ref : { ...ref, weight };
    }),
  }));
  return { ...route, spec: { ...route.spec, ...(rules ? { rules } : {}) } };
}

/**
 * The apply of `cmd` as it must run: unchanged unless it applies a file (`-f FILE`) with plugin-routed
 * HTTPRoutes that exist in the cluster; then the same apply reading the file, with their live weights,
 * from stdin. `kubectl` is the command prefix of `cmd` (context flags included) used to read the routes.
 */
export async function keepingLiveWeights(runner: Runner, cmd: Cmd): Promise<{ cmd: Cmd; input?: string }> {
  const apply = cmd.argv.indexOf('apply');
  const f = cmd.argv.indexOf('-f');
  const file = cmd.argv[f + 1];
  if (apply < 0 || f < 0 || !file || file === '-' || /^https?:/.test(file)) return { cmd };
  const docs = parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS() as Doc).filter(Boolean);
  const routes = pluginRoutes(docs);
  if (routes.size === 0) return { cmd };
  const kubectl = cmd.argv.slice(0, apply);
  let changed = false;
  const out: Doc[] = [];
  for (const d of docs) {
    const key = `${d.metadata?.namespace}/${d.metadata?.name}`;
    if (d.kind !== 'HTTPRoute' || !routes.has(key)) {
      out.push(d);
      continue;
    }
    const got = await runner([...kubectl, 'get', 'httproutes.gateway.networking.k8s.io', d.metadata!.name!, '-n', d.metadata!.namespace!, '-o', 'json', '--ignore-not-found']);
    if (got.code !== 0) throw new Error(`reading the live HTTPRoute ${key} (to keep its canary weights) failed: ${got.stderr.trim()}`);
    if (!got.stdout.trim()) {
      out.push(d);
      continue;
    }
    out.push(withWeights(d, JSON.parse(got.stdout) as Doc));
    changed = true;
  }
  if (!changed) return { cmd };
  const argv = [...cmd.argv];
  argv[f + 1] = '-';
  return { cmd: { ...cmd, argv }, input: out.map((d) => stringify(d)).join('---\n') };
}

/** runChecked for an apply, keeping the live weights of plugin-routed HTTPRoutes (see above). */
export async function applyKeepingWeights(runner: Runner, cmd: Cmd, options: Parameters<typeof runChecked>[2] = {}) {
  const { cmd: actual, input } = await keepingLiveWeights(runner, cmd);
  return runChecked(runner, actual, { ...options, ...(input !== undefined ? { input } : {}) });
}
