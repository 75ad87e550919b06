/**
 * What each pinned chart (../charts/Chart.yaml) runs: the versions of the programs its images carry, read
 * from the chart's own files at the pinned release tag (Chart.yaml `appVersion`, or the image tag its
 * values.yaml sets; a tag left "" means the appVersion). Whoever builds or runs these programs outside a
 * cluster (the box, from their Go modules) takes the versions from here, so that they match what
 * `npm run up` installs. Update with the pin: the Helm values test checks `chart` against Chart.yaml.
 */
export interface ChartAppVersions {
  /** The pinned chart version these were read from. */
  readonly chart: string;
  /** Where they were read: `owner/repo@<tag> (<commit>)`. */
  readonly source: string;
  readonly images: Readonly<Record<string, string>>;
}

export const chartAppVersions = {
  // prometheus-community/helm-charts@kube-prometheus-stack-88.2.0:charts/kube-prometheus-stack/{Chart.yaml,values.yaml}
  'kube-prometheus-stack': {
    chart: '88.2.0',
    source: 'prometheus-community/helm-charts@kube-prometheus-stack-88.2.0 (18956245a31a887141bb31a040c145d6b5e6e056)',
    images: {
      // Chart.yaml appVersion; prometheusOperator.image.tag is "" (templates: `| default .Chart.AppVersion`).
      'prometheus-operator': 'v0.93.0',
      // prometheusOperator.prometheusConfigReloader.image.tag is "": the appVersion too.
      'prometheus-config-reloader': 'v0.93.0',
      // prometheus.prometheusSpec.image.tag: v3.13.2-distroless (the distroless build of v3.13.2).
      prometheus: 'v3.13.2',
      // alertmanager.alertmanagerSpec.image.tag.
      alertmanager: 'v0.33.1',
      // Subcharts (Chart.yaml dependencies): grafana 12.10.4 (grafana-community/helm-charts@grafana-12.10.4),
      // kube-state-metrics 8.2.0, prometheus-node-exporter 4.56.1: their Chart.yaml appVersion.
      grafana: '13.1.3',
      'kube-state-metrics': 'v2.19.1',
      'node-exporter': 'v1.12.1',
    },
  },
  // cert-manager/cert-manager@v1.21.1:deploy/charts/cert-manager (chart and images are versioned with the release tag).
  'cert-manager': {
    chart: 'v1.21.1',
    source: 'cert-manager/cert-manager@v1.21.1 (24e33194fb39488eff2bbf10c6dc640f407cad44)',
    images: { 'cert-manager': 'v1.21.1' },
  },
  // traefik/traefik-helm-chart@v41.3.0:traefik/Chart.yaml appVersion (image.tag null: the appVersion).
  traefik: {
    chart: '41.3.0',
    source: 'traefik/traefik-helm-chart@v41.3.0 (a8a66d0098703627b2cf352c66b1725c196a734a)',
    images: { traefik: 'v3.7.11' },
  },
  // elastic/cloud-on-k8s@v3.5.0:deploy/eck-operator/Chart.yaml appVersion (image.tag null: the appVersion).
  'eck-operator': {
    chart: '3.5.0',
    source: 'elastic/cloud-on-k8s@v3.5.0 (386c7b14f2d1bbb7f2af1e7da997e64875f16e47)',
    images: { 'eck-operator': '3.5.0' },
  },
  // argoproj/argo-helm@argo-rollouts-2.41.0:charts/argo-rollouts/Chart.yaml appVersion (controller.image.tag "").
  'argo-rollouts': {
    chart: '2.41.0',
    source: 'argoproj/argo-helm@argo-rollouts-2.41.0 (8796aeaa82428f96c3a20293f75a1a805f99d32b)',
    images: { 'argo-rollouts': 'v1.9.0' },
  },
  // dexidp/helm-charts@dex-0.24.0:charts/dex/Chart.yaml appVersion 2.44.0; image.tag "" renders `v<appVersion>`.
  // The platform overrides the tag (DEX_IMAGE_TAG in values/dex.ts: groups on static users need v2.45).
  dex: {
    chart: '0.24.0',
    source: 'dexidp/helm-charts@dex-0.24.0 (c82afcc25e9d6a807111ba637b1a4568f9033fc6)',
    images: { dex: 'v2.44.0' },
  },
  // oauth2-proxy/manifests@oauth2-proxy-10.7.0:helm/oauth2-proxy/Chart.yaml appVersion (image.tag "": `v<appVersion>`).
  'oauth2-proxy': {
    chart: '10.7.0',
    source: 'oauth2-proxy/manifests@oauth2-proxy-10.7.0 (2a4bdf83bf5f86937c88a7f6b0580f37253c04bb)',
    images: { 'oauth2-proxy': 'v7.15.3' },
  },
  // prometheus-community/helm-charts@prometheus-blackbox-exporter-11.17.2:charts/prometheus-blackbox-exporter/Chart.yaml appVersion.
  'prometheus-blackbox-exporter': {
    chart: '11.17.2',
    source: 'prometheus-community/helm-charts@prometheus-blackbox-exporter-11.17.2 (a66a3d5b35a1edcb6670f4dd27c395b7d9784086)',
    images: { 'blackbox-exporter': 'v0.28.0' },
  },
  // prometheus-community/helm-charts@prometheus-pushgateway-3.2.0:charts/prometheus-pushgateway/Chart.yaml appVersion.
  'prometheus-pushgateway': {
    chart: '3.2.0',
    source: 'prometheus-community/helm-charts@prometheus-pushgateway-3.2.0 (d9cda11c9e15b6ce7a03c6ad5187b12da72c0e7c)',
    images: { pushgateway: 'v1.11.1' },
  },
  // kubernetes-sigs/metrics-server@metrics-server-helm-chart-3.13.1:charts/metrics-server/Chart.yaml appVersion
  // 0.8.1 (image.tag "" renders `v<appVersion>`). The project's newest app release, v0.9.0, is in no chart yet.
  'metrics-server': {
    chart: '3.13.1',
    source: 'kubernetes-sigs/metrics-server@metrics-server-helm-chart-3.13.1 (842dcc8c42f22cc19f10c7d5f2d32a9f4b6013b0)',
    images: { 'metrics-server': 'v0.8.1' },
  },
} as const satisfies Record<string, ChartAppVersions>;

export type PinnedChart = keyof typeof chartAppVersions;
