/** The tools `up`, `down` and `smoke` need, and a clear message with an install hint for each missing one. */
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';

export interface Tool {
  name: 'docker' | 'kind' | 'kubectl' | 'helm';
  why: string;
  hint: string;
}

export const TOOLS: readonly Tool[] = [
  {
    name: 'docker',
    why: 'runs the kind node and builds the service images',
    hint: 'install Docker Engine (Linux) or Docker Desktop (macOS, Windows): https://docs.docker.com/get-docker/',
  },
  {
    name: 'kind',
    why: 'creates the local Kubernetes cluster',
    hint: 'install kind v0.31 (the node image in kind-config.yaml is built for it): `go install sigs.k8s.io/kind@v0.31.0`, `brew install kind`, or a binary from https://kind.sigs.k8s.io/docs/user/quick-start/#installation',
  },
  {
    name: 'kubectl',
    why: 'applies the manifests and waits for the workloads',
    hint: 'install kubectl 1.33 to 1.35 (within one minor version of the cluster, 1.34): `brew install kubectl` or https://kubernetes.io/docs/tasks/tools/',
  },
  {
    name: 'helm',
    why: 'installs the platform charts (cert-manager, traefik, kube-prometheus-stack, ...)',
    hint: 'install Helm 3.8 or later (OCI charts): `brew install helm` or https://helm.sh/docs/intro/install/',
  },
];

/** Finds an executable on PATH; injectable so tests can pretend tools are missing. */
export type PathLookup = (command: string) => string | undefined;

export function lookupOnPath(env: NodeJS.ProcessEnv = process.env): PathLookup {
  const dirs = (env.PATH ?? '').split(path.delimiter).filter(Boolean);
  const exts = process.platform === 'win32' ? (env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';') : [''];
  return (command) => {
    for (const dir of dirs) {
      for (const ext of exts) {
        const candidate = path.join(dir, command + ext);
        try {
          accessSync(candidate, constants.X_OK);
          if (statSync(candidate).isFile()) return candidate;
        } catch {
          // not here
        }
      }
    }
    return undefined;
  };
}

export interface PrerequisiteReport {
  found: Map<string, string>;
  missing: Tool[];
}

export function checkTools(lookup: PathLookup, tools: readonly Tool[] = TOOLS): PrerequisiteReport {
  const found = new Map<string, string>();
  const missing: Tool[] = [];
  for (const tool of tools) {
    const where = lookup(tool.name);
    if (where) found.set(tool.name, where);
    else missing.push(tool);
  }
  return { found, missing };
}

/** The message shown when tools are missing: one paragraph per tool, with what it is for and how to get it. */
export function missingToolsMessage(missing: readonly Tool[]): string {
  const lines = [`Missing prerequisite${missing.length === 1 ? '' : 's'}: ${missing.map((t) => t.name).join(', ')}`];
  for (const tool of missing) {
    lines.push(`  - ${tool.name} (${tool.why}) was not found on PATH.`, `    Install hint: ${tool.hint}`);
  }
  lines.push('Install them, open a new shell so PATH is updated, and run `npm run up` again.');
  return lines.join('\n');
}

export class PrerequisiteError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PrerequisiteError';
  }
}

/** Throws a PrerequisiteError listing every missing tool with its hint. */
export function assertTools(lookup: PathLookup, tools: readonly Tool[] = TOOLS): Map<string, string> {
  const report = checkTools(lookup, tools);
  if (report.missing.length > 0) throw new PrerequisiteError(missingToolsMessage(report.missing));
  return report.found;
}

export const DOCKER_DAEMON_HINT =
  'The Docker daemon is not answering (`docker info` failed). Start Docker Desktop, or `sudo systemctl start docker` on Linux; without root, add yourself to the docker group (then log in again) or use rootless Docker.';

/** `kind version` prints e.g. "kind v0.31.0 go1.25.5 linux/amd64". */
export function parseKindVersion(output: string): [number, number, number] | undefined {
  const m = /\bv(\d+)\.(\d+)\.(\d+)/.exec(output);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

/** A warning (not an error) when kind is older than the release the node image was built for. */
export function kindVersionWarning(output: string): string | undefined {
  const v = parseKindVersion(output);
  if (!v) return undefined;
  const [major, minor] = v;
  if (major === 0 && minor < 31) {
    return `kind v${v.join('.')} is older than v0.31.0, the release the pinned node image was built for; upgrade kind if the cluster does not start.`;
  }
  return undefined;
}

/** `helm version --short` prints e.g. "v3.19.0+g3d8990f" or "v4.0.1+g...". OCI charts need 3.8+. */
export function helmVersionProblem(output: string): string | undefined {
  const m = /\bv(\d+)\.(\d+)\./.exec(output);
  if (!m) return undefined;
  const major = Number(m[1]);
  const minor = Number(m[2]);
  if (major < 3 || (major === 3 && minor < 8)) {
    return `helm ${m[0]}x is too old: OCI charts (cert-manager) need Helm 3.8 or later. ${TOOLS[3]!.hint}`;
  }
  return undefined;
}
