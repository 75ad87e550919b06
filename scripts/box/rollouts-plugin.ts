/**
 * The Argo Rollouts Gateway API traffic-router plugin in the box. The cluster runs the real plugin
 * (argoproj-labs/gatewayAPI v0.15.0, copied out of its image); the box cannot build it, since the Go module
 * proxy serves no version of it, so it runs our own stand-in (tools/gatewayapi-plugin-standin) under the
 * same plugin name. The controller reads the plugin list from the argo-rollouts-config ConfigMap of its
 * namespace (POD_NAMESPACE) once, at start, and copies each file:// plugin into plugin-bin/ under its
 * working directory (utils/config and utils/plugin/downloader.go in v1.9.0): write the ConfigMap first.
 */
import { stringify } from 'yaml';
import { gatewayApiPlugin } from '../../cdk8s/src/helm/releases/argo-rollouts.js';
import { ensureTool } from './build.js';
import { kubectl, type BoxState } from './control-plane.js';

/** The controller's ConfigMap name (utils/defaults: DefaultRolloutsConfigMapName). */
export const ROLLOUTS_CONFIG_MAP = 'argo-rollouts-config';

/** The ConfigMap the argo-rollouts chart would render, with the plugin at a local file in place of the image's copy. */
export function rolloutsPluginConfigMap(namespace: string, pluginPath: string) {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: ROLLOUTS_CONFIG_MAP, namespace },
    data: { trafficRouterPlugins: stringify([{ name: gatewayApiPlugin.name, location: `file://${pluginPath}` }]) },
  };
}

/**
 * Builds the stand-in when missing and writes (or updates) the ConfigMap in the controller's namespace,
 * which must exist. Returns the plugin binary's path.
 */
export async function configureRolloutsPlugin(state: BoxState, releaseNamespace: string): Promise<string> {
  const path = (await ensureTool('gatewayApiPlugin'))['gatewayapi-plugin-standin']!;
  kubectl(state, ['apply', '--server-side', '--field-manager=courseops-box', '-f', '-'], JSON.stringify(rolloutsPluginConfigMap(releaseNamespace, path)));
  return path;
}
