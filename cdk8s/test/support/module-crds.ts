import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GATEWAY_API } from '../../src/gateway/api.js';
import { chartAppVersions } from '../../src/helm/app-versions.js';

/**
 * CRDs that are not in ../shared/crds, read from the Go modules of the very versions the platform pins
 * (the box builds from the same module cache): the Gateway API standard channel at GATEWAY_API.version, and
 * Traefik's traefik.io CRDs at the chart's appVersion (its Middleware CRD is byte for byte the one the
 * traefik chart 41.3.0 ships in crds/). `go mod download` only fetches the module zip into the cache.
 */
const TRAEFIK_TOOL_DIR = fileURLToPath(new URL('../../../tools/traefik/', import.meta.url));
/** tools/crds/go.mod pins cert-manager at the version the cert-manager chart installs (its go.sum checks the zip). */
const CRDS_TOOL_DIR = fileURLToPath(new URL('../../../tools/crds/', import.meta.url));

function moduleDir(module: string, version: string, toolDir = TRAEFIK_TOOL_DIR): string {
  const out = execFileSync('go', ['mod', 'download', '-json', `${module}@${version}`], { cwd: toolDir, encoding: 'utf8', timeout: 300_000 });
  return (JSON.parse(out) as { Dir: string }).Dir;
}

export function gatewayApiCrdFiles(): string[] {
  const dir = join(moduleDir(GATEWAY_API.module, GATEWAY_API.version), 'config/crd', GATEWAY_API.channel);
  return ['gateways', 'httproutes', 'backendtlspolicies'].map((k) => join(dir, `gateway.networking.k8s.io_${k}.yaml`));
}

export function traefikCrdFiles(): string[] {
  const dir = moduleDir('github.com/traefik/traefik/v3', chartAppVersions.traefik.images.traefik);
  return [join(dir, 'docs/content/reference/dynamic-configuration/traefik.io_middlewares.yaml')];
}

/** cert-manager's own CRDs at the pinned chart's version: ClusterIssuer and Certificate as the API server checks them. */
export function certManagerCrdFiles(): string[] {
  const dir = join(moduleDir('github.com/cert-manager/cert-manager', chartAppVersions['cert-manager'].images['cert-manager'], CRDS_TOOL_DIR), 'deploy/crds');
  return ['clusterissuers', 'certificates'].map((k) => join(dir, `cert-manager.io_${k}.yaml`));
}
