/**
 * What `npm run dev` runs, derived from the declarations (cdk8s/src/services.ts) the cluster is built
 * from: each service on its declared port with its declared settings, its calls pointed at the callee's
 * local port, its probe targets at theirs, and its secrets made up for the session. A service declared
 * there runs here with no list to update.
 */
import type { ServiceDecl } from '../cdk8s/src/services.js';

export interface DevService {
  name: string;
  port: number;
  env: Record<string, string>;
  /** Where to find its API from a browser or curl (its declared ingress path). */
  apiUrl?: string;
}

/** Settings that differ on a laptop, by env name: the status page probes faster so changes show at once. */
const devOverrides: Record<string, string> = { PROBE_INTERVAL_MS: '5000' };

export function devServices(decls: readonly ServiceDecl[], secret: (env: string) => string): DevService[] {
  const local = (name: string) => {
    const callee = decls.find((d) => d.name === name);
    if (!callee) throw new Error(`a declaration refers to "${name}", which is not declared`);
    return `http://localhost:${callee.port}`;
  };
  return decls.map((decl) => {
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(decl.env ?? {})) env[key] = devOverrides[key] ?? value;
    for (const call of decl.calls ?? []) env[call.urlEnv] = local(call.service);
    if (decl.probes) env.STATUS_TARGETS = decl.probes.map((name) => `${name}=${local(name)}`).join(',');
    for (const s of decl.secretEnv ?? []) env[s.env] = secret(s.env);
    const apiUrl = decl.ingress ? `http://localhost:${decl.port}${decl.ingress.path}` : undefined;
    return { name: decl.name, port: decl.port, env, ...(apiUrl ? { apiUrl } : {}) };
  });
}

/**
 * `npm run dev [-- <service>...] [--no-monitoring]`: which declared services to run (all when none is
 * named) and whether to start the local Prometheus and Alertmanager.
 */
export function devArgs(args: readonly string[], declared: readonly string[]): { only: string[]; monitoring: boolean } {
  const only: string[] = [];
  let monitoring = true;
  for (const arg of args) {
    if (arg === '--no-monitoring') monitoring = false;
    else if (arg.startsWith('-')) throw new Error(`npm run dev: unknown option ${arg} (usage: npm run dev -- [<service>...] [--no-monitoring])`);
    else if (!declared.includes(arg)) throw new Error(`npm run dev: no service "${arg}" is declared (declared: ${declared.join(', ')})`);
    else only.push(arg);
  }
  return { only, monitoring };
}
