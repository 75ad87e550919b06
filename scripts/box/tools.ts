/**
 * The upstream programs of the box, each built from its own wrapper module under tools/<module>/ (go.mod
 * pins the version; go.sum the content). One module per program family, never one for all: minimal
 * version selection would otherwise couple their k8s.io versions.
 */
import { fileURLToPath } from 'node:url';
import { chartAppVersions } from '../../cdk8s/src/helm/app-versions.js';
import { gatewayApiPlugin } from '../../cdk8s/src/helm/releases/argo-rollouts.js';
import { DEX_IMAGE_TAG } from '../../cdk8s/src/helm/releases/dex.js';

export const TOOLS_DIR = fileURLToPath(new URL('../../tools/', import.meta.url));

export interface GoBinary {
  /** The file name in the cache's bin/ folder. */
  readonly name: string;
  /** The main package: one of the module's `tool` directives, or the wrapper module's own main package. */
  readonly pkg: string;
}

export interface GoTool {
  /** tools/<module>/go.mod */
  readonly module: string;
  /** The upstream version, for people and the cache folder name (go.mod is the pin). */
  readonly version: string;
  readonly binaries: readonly GoBinary[];
  /** -X flags: unstamped binaries report v0.0.0, which breaks version checks and default image tags. */
  readonly stamp?: Readonly<Record<string, string>>;
  readonly tags?: readonly string[];
  /** Built only when asked for by name (not by the test run's build phase). */
  readonly optional?: boolean;
}

/** The date builds are stamped with, so a rebuild gives the same binary. */
const BUILD_DATE = '2026-01-01T00:00:00Z';

/** The kind node image's Kubernetes (kind-config.yaml; a test keeps them equal). */
export const KUBERNETES_VERSION = 'v1.34.3';
const kps = chartAppVersions['kube-prometheus-stack'].images;
const rollouts = chartAppVersions['argo-rollouts'].images['argo-rollouts'];
const oauth2Proxy = chartAppVersions['oauth2-proxy'].images['oauth2-proxy'];
/** The Alertmanager the tests run: the chart's is kps.alertmanager, which does not build from its module. */
export const ALERTMANAGER_VERSION = 'v0.31.1';
/** The eck-operator chart's appVersion and the short commit of its tag (ECK's Makefile stamps `git rev-parse --short=8`). */
const eck = {
  version: chartAppVersions['eck-operator'].images['eck-operator'],
  hash: /\(([0-9a-f]{8})[0-9a-f]*\)/.exec(chartAppVersions['eck-operator'].source)![1]!,
};

/** k8s.io/component-base/version and client-go's copy of it (kubectl prints both). */
function kubernetesStamp(version: string): Record<string, string> {
  const [major, minor] = version.replace(/^v/, '').split('.') as [string, string];
  const fields = { gitVersion: version, gitMajor: major, gitMinor: minor, gitTreeState: 'clean', gitCommit: '0000000000000000000000000000000000000000', buildDate: BUILD_DATE };
  const stamp: Record<string, string> = {};
  for (const pkg of ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version']) {
    for (const [k, v] of Object.entries(fields)) stamp[`${pkg}.${k}`] = v;
  }
  return stamp;
}

/** github.com/prometheus/common/version, which the Prometheus programs and the operator report. */
function prometheusStamp(version: string): Record<string, string> {
  const pkg = 'github.com/prometheus/common/version';
  return { [`${pkg}.Version`]: version, [`${pkg}.Revision`]: 'module', [`${pkg}.Branch`]: 'HEAD', [`${pkg}.BuildUser`]: 'courseops', [`${pkg}.BuildDate`]: BUILD_DATE };
}

export const boxTools = {
  // Prometheus and Alertmanager first: the tests outside the box need them too (observability loop,
  // canary analysis, promtool and amtool checks) and wait for them on the build lock.
  prometheus: {
    module: 'prometheus',
    version: kps.prometheus,
    binaries: [
      { name: 'prometheus', pkg: 'github.com/prometheus/prometheus/cmd/prometheus' },
      { name: 'promtool', pkg: 'github.com/prometheus/prometheus/cmd/promtool' },
    ],
    stamp: prometheusStamp(kps.prometheus.replace(/^v/, '')),
    // Only the Kubernetes service discovery (all the operator generates): the cloud providers' SDKs
    // would triple the build time for nothing the box uses.
    tags: ['remove_all_sd', 'enable_kubernetes_sd'],
  },
  // The newest Alertmanager whose module builds (tools/alertmanager/go.mod says why): the chart runs
  // v0.33.1, but from v0.32 on the module lacks the web UI files its ui package embeds.
  alertmanager: {
    module: 'alertmanager',
    version: ALERTMANAGER_VERSION,
    binaries: [
      { name: 'alertmanager', pkg: 'github.com/prometheus/alertmanager/cmd/alertmanager' },
      { name: 'amtool', pkg: 'github.com/prometheus/alertmanager/cmd/amtool' },
    ],
    stamp: prometheusStamp(ALERTMANAGER_VERSION.replace(/^v/, '')),
  },
  kubernetes: {
    module: 'kubernetes',
    version: KUBERNETES_VERSION,
    binaries: ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubectl'].map((name) => ({ name, pkg: `k8s.io/kubernetes/cmd/${name}` })),
    stamp: kubernetesStamp(KUBERNETES_VERSION),
  },
  etcd: { module: 'etcd', version: 'v3.6.5', binaries: [{ name: 'etcd', pkg: 'go.etcd.io/etcd/server/v3' }] },
  kwok: { module: 'kwok', version: 'v0.8.0', binaries: [{ name: 'kwok', pkg: 'sigs.k8s.io/kwok/cmd/kwok' }] },
  prometheusOperator: {
    module: 'prometheus-operator',
    version: kps['prometheus-operator'],
    binaries: [{ name: 'prometheus-operator', pkg: 'github.com/prometheus-operator/prometheus-operator/cmd/operator' }],
    // The operator derives its default config-reloader image tag from this version.
    stamp: prometheusStamp(kps['prometheus-operator'].replace(/^v/, '')),
  },
  argoRollouts: {
    module: 'argo-rollouts',
    version: rollouts,
    binaries: [{ name: 'rollouts-controller', pkg: 'github.com/argoproj/argo-rollouts/cmd/rollouts-controller' }],
    stamp: { 'github.com/argoproj/argo-rollouts/utils/version.version': rollouts },
  },
  // Our own stand-in for the Argo Rollouts Gateway API plugin argoproj-labs/gatewayAPI v0.15.0, which the
  // module proxy does not serve; the controller loads it from a file:// location (rollouts-plugin.ts).
  gatewayApiPlugin: {
    module: 'gatewayapi-plugin-standin',
    version: `${gatewayApiPlugin.version}-standin`,
    binaries: [{ name: 'gatewayapi-plugin-standin', pkg: 'courseops.test/tools/gatewayapi-plugin-standin' }],
  },
  oauth2Proxy: {
    module: 'oauth2-proxy',
    version: oauth2Proxy,
    binaries: [{ name: 'oauth2-proxy', pkg: 'github.com/oauth2-proxy/oauth2-proxy/v7' }],
    // oauth2-proxy's Makefile stamps this (`-X …/pkg/version.VERSION=$(git describe)`); `--version` prints it.
    stamp: { 'github.com/oauth2-proxy/oauth2-proxy/v7/pkg/version.VERSION': oauth2Proxy },
  },
  eckOperator: {
    module: 'eck-operator',
    version: eck.version,
    // ECK's main package; the box runs its `manager` subcommand (eck.ts).
    binaries: [{ name: 'eck-operator', pkg: 'github.com/elastic/cloud-on-k8s/v3/cmd' }],
    // ECK's Makefile stamps these (GO_LDFLAGS): the operator reports them in its log and operator info.
    // No `release` tag: it only selects Elastic's production licence key, generated at release time and
    // not in the module (the basic licence needs no key).
    stamp: {
      'github.com/elastic/cloud-on-k8s/v3/pkg/about.version': eck.version,
      'github.com/elastic/cloud-on-k8s/v3/pkg/about.buildHash': eck.hash,
      'github.com/elastic/cloud-on-k8s/v3/pkg/about.buildDate': BUILD_DATE,
      'github.com/elastic/cloud-on-k8s/v3/pkg/about.buildSnapshot': 'false',
    },
  },
  dex: {
    module: 'dex',
    // The image tag our dex values pin (not the chart's appVersion); go.mod requires its commit's pseudo-version.
    version: DEX_IMAGE_TAG,
    binaries: [{ name: 'dex', pkg: 'github.com/dexidp/dex/cmd/dex' }],
    // Dex's Makefile stamps this (`-X main.version=$(VERSION)`); `dex version` prints it.
    stamp: { 'main.version': DEX_IMAGE_TAG },
  },
  helm: {
    module: 'helm',
    version: 'v3.22.0',
    binaries: [{ name: 'helm', pkg: 'helm.sh/helm/v3/cmd/helm' }],
    stamp: { 'helm.sh/helm/v3/internal/version.version': 'v3.22.0', 'helm.sh/helm/v3/internal/version.gitTreeState': 'clean' },
    optional: true,
  },
  traefik: {
    module: 'traefik',
    // The appVersion of the traefik chart 41.3.0: the platform's Gateway API implementation.
    version: 'v3.7.11',
    binaries: [{ name: 'traefik', pkg: 'github.com/traefik/traefik/v3/cmd/traefik' }],
    // Traefik's Makefile stamps these; v3.7's codename is its release workflow's CODENAME.
    stamp: {
      'github.com/traefik/traefik/v3/pkg/version.Version': 'v3.7.11',
      'github.com/traefik/traefik/v3/pkg/version.Codename': 'langres',
      'github.com/traefik/traefik/v3/pkg/version.BuildDate': BUILD_DATE,
    },
  },
} as const satisfies Record<string, GoTool>;

export type BoxToolName = keyof typeof boxTools;
