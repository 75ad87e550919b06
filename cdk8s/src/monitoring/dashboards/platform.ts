/**
 * The platform-wide dashboards (monitoring namespace): overview with SLO status, Node.js runtime,
 * database, business counters, circuit breaker and dependency calls, log volume, cluster.
 * `$service` (panels.ts) is a multi-select of the declared services, matched as `job=~"$service"`;
 * the database exporter's job is `<service>-postgresql` (`job=~"($service)-postgresql"`).
 */
import { DashboardLinkBuilder, DashboardLinkType, RowBuilder, type Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { NON_SLI_ROUTE_MATCHER, percent } from '../rules.js';
import { BUSINESS_COUNTERS } from '../../../../services/kit/src/contract.js';
import { defaultThresholds } from '../../slo.js';
import { P95_RECORD, sliRecord } from '../service-rules.js';
import { serviceDashboardUid } from './service.js';
import { breakerStates, dashboard, SERVICE_VAR, serviceVariable, stat, timeseries } from './panels.js';

export interface PlatformDashboardOptions {
  /** Namespace of the services (the `namespace` target label). */
  readonly namespace: string;
  /** Declared service names. */
  readonly services: readonly string[];
}

export const PLATFORM_DASHBOARD_UIDS = {
  overview: 'courseops-overview',
  runtime: 'courseops-nodejs-runtime',
  database: 'courseops-database',
  business: 'courseops-business',
  dependencies: 'courseops-dependencies',
  logs: 'courseops-logs',
  cluster: 'courseops-cluster',
} as const;

const r = '[$__rate_interval]';
const svc = `job=~"$${SERVICE_VAR}"`;

/** Services with their SLOs: SLI vs objective and error budget remaining, from the recording rules of service-rules.ts. */
export function overviewDashboard(o: PlatformDashboardOptions): Dashboard {
  const scope = `namespace="${o.namespace}", job=~"${o.services.join('|')}"`;
  const traffic = `{${scope}, ${NON_SLI_ROUTE_MATCHER}}`;
  const avail = defaultThresholds.availabilityObjective;
  const lat = defaultThresholds.latencyObjective.ratio;
  const budget = (objective: number) => Number((1 - objective).toFixed(6));
  const sli = (slo: string) => `1 - max by (job) (${sliRecord('1d')}{${scope}, slo="${slo}"})`;
  // Budget spent over 30 days: the mean of the 1h SLI error ratio over 30 days (as far as retention reaches) / budget.
  const remaining = (slo: string, objective: number) =>
    `1 - max by (job) (avg_over_time(${sliRecord('1h')}{${scope}, slo="${slo}"}[30d])) / ${budget(objective)}`;
  const sloSteps = (objective: number) => [
    { value: null, color: 'red' },
    { value: objective, color: 'green' },
  ];
  const budgetSteps = [
    { value: null, color: 'red' },
    { value: 0, color: 'orange' },
    { value: 0.25, color: 'green' },
  ];
  const b = dashboard(PLATFORM_DASHBOARD_UIDS.overview, 'courseops / Overview', 'Every service: traffic, errors, latency and SLO status (error budgets over 30 days).')
    .withRow(new RowBuilder('SLO status'))
    .withPanel(
      stat({
        title: `Availability SLI (1d) vs ${percent(avail)}`,
        description: 'Share of non-5xx answers over the last day (recording rule slo:sli_error:ratio_rate1d, slo="availability").',
        unit: 'percentunit',
        decimals: 3,
        targets: [{ expr: sli('availability'), legend: '{{job}}' }],
        thresholds: sloSteps(avail),
      }),
    )
    .withPanel(
      stat({
        title: `Latency SLI (1d) vs ${percent(lat)} within ${defaultThresholds.latencyObjective.thresholdSeconds}s`,
        unit: 'percentunit',
        decimals: 3,
        targets: [{ expr: sli('latency'), legend: '{{job}}' }],
        thresholds: sloSteps(lat),
      }),
    )
    .withPanel(
      stat({
        title: 'Availability error budget remaining (30d)',
        description: `1 - mean 1h SLI error ratio over 30 days / budget ${budget(avail)} (Prometheus retention may hold less than 30 days).`,
        unit: 'percentunit',
        targets: [{ expr: remaining('availability', avail), legend: '{{job}}' }],
        thresholds: budgetSteps,
      }),
    )
    .withPanel(
      stat({
        title: 'Latency error budget remaining (30d)',
        unit: 'percentunit',
        targets: [{ expr: remaining('latency', lat), legend: '{{job}}' }],
        thresholds: budgetSteps,
      }),
    )
    .withPanel(
      timeseries({
        title: 'Availability budget burn rate (1h)',
        description: 'SLI error ratio over 1 hour / budget: 1 spends the budget in exactly 30 days; the fast-burn alert pages at 14.4.',
        unit: 'short',
        min: 0,
        targets: [{ expr: `max by (job) (${sliRecord('1h')}{${scope}, slo="availability"}) / ${budget(avail)}`, legend: '{{job}}' }],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Latency budget burn rate (1h)',
        unit: 'short',
        min: 0,
        targets: [{ expr: `max by (job) (${sliRecord('1h')}{${scope}, slo="latency"}) / ${budget(lat)}`, legend: '{{job}}' }],
      }),
    )
    .withRow(new RowBuilder('Services'))
    .withPanel(
      stat({
        title: 'Instances up',
        unit: 'short',
        width: 24,
        targets: [{ expr: `sum by (job) (up{${scope}})`, legend: '{{job}}' }],
        thresholds: [
          { value: null, color: 'red' },
          { value: 1, color: 'green' },
        ],
      }),
    )
    .withPanel(timeseries({ title: 'Request rate', unit: 'reqps', min: 0, targets: [{ expr: `sum by (job) (rate(http_requests_total${traffic}${r}))`, legend: '{{job}}' }] }))
    .withPanel(
      timeseries({
        title: 'Error ratio (5xx, 5m)',
        unit: 'percentunit',
        min: 0,
        targets: [{ expr: `max by (job) (${sliRecord('5m')}{${scope}, slo="availability"})`, legend: '{{job}}' }],
        thresholds: [
          { value: null, color: 'green' },
          { value: defaultThresholds.errorRatio, color: 'red' },
        ],
      }),
    )
    .withPanel(timeseries({ title: 'p95 duration', unit: 's', min: 0, targets: [{ expr: `max by (job) (${P95_RECORD}{${scope}})`, legend: '{{job}}' }] }))
    .withPanel(
      timeseries({
        title: 'Requests in flight',
        unit: 'short',
        min: 0,
        targets: [{ expr: `sum by (job) (http_requests_in_flight{${scope}})`, legend: '{{job}}' }],
      }),
    );
  for (const s of o.services) {
    b.link(new DashboardLinkBuilder(`${s} RED`).type(DashboardLinkType.Link).icon('dashboard').url(`/d/${serviceDashboardUid(s)}`).keepTime(true));
  }
  return b.build();
}

export function runtimeDashboard(o: PlatformDashboardOptions): Dashboard {
  const sel = `{namespace="${o.namespace}", ${svc}}`;
  return dashboard(PLATFORM_DASHBOARD_UIDS.runtime, 'courseops / Node.js runtime', 'prom-client default metrics of every service pod: event loop, heap, CPU, GC.')
    .withVariable(serviceVariable(o.namespace, o.services))
    .withPanel(
      timeseries({
        title: 'Event loop lag',
        unit: 's',
        min: 0,
        targets: [
          { expr: `max by (job, pod) (nodejs_eventloop_lag_seconds${sel})`, legend: '{{pod}}' },
          { expr: `max by (job, pod) (nodejs_eventloop_lag_p99_seconds${sel})`, legend: '{{pod}} p99' },
        ],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Heap used',
        unit: 'bytes',
        min: 0,
        targets: [
          { expr: `sum by (job, pod) (nodejs_heap_size_used_bytes${sel})`, legend: '{{pod}} used' },
          { expr: `sum by (job, pod) (nodejs_heap_size_total_bytes${sel})`, legend: '{{pod}} total' },
        ],
      }),
    )
    .withPanel(
      timeseries({
        title: 'CPU',
        unit: 'percentunit',
        min: 0,
        targets: [{ expr: `sum by (job, pod) (rate(process_cpu_seconds_total${sel}${r}))`, legend: '{{pod}}' }],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Resident memory',
        unit: 'bytes',
        min: 0,
        targets: [{ expr: `sum by (job, pod) (process_resident_memory_bytes${sel})`, legend: '{{pod}}' }],
      }),
    )
    .withPanel(
      timeseries({
        title: 'GC time per second by kind',
        unit: 'percentunit',
        min: 0,
        targets: [{ expr: `sum by (job, kind) (rate(nodejs_gc_duration_seconds_sum${sel}${r}))`, legend: '{{job}} {{kind}}' }],
      }),
    )
    .withPanel(
      timeseries({
        title: 'GC runs per second',
        unit: 'ops',
        min: 0,
        targets: [{ expr: `sum by (job, kind) (rate(nodejs_gc_duration_seconds_count${sel}${r}))`, legend: '{{job}} {{kind}}' }],
      }),
    )
    .build();
}

export function databaseDashboard(o: PlatformDashboardOptions): Dashboard {
  const sel = `{namespace="${o.namespace}", ${svc}}`;
  const db = `{namespace="${o.namespace}", job=~"($${SERVICE_VAR})-postgresql"}`;
  return dashboard(PLATFORM_DASHBOARD_UIDS.database, 'courseops / Database', "Each service's queries (db_query_duration_seconds) and its PostgreSQL (postgres-exporter).")
    .withVariable(serviceVariable(o.namespace, o.services))
    .withRow(new RowBuilder('PostgreSQL'))
    .withPanel(
      stat({
        title: 'PostgreSQL up',
        unit: 'short',
        width: 8,
        targets: [{ expr: `max by (job) (pg_up${db})`, legend: '{{job}}' }],
        thresholds: [
          { value: null, color: 'red' },
          { value: 1, color: 'green' },
        ],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Connections (backends)',
        unit: 'short',
        min: 0,
        width: 8,
        targets: [{ expr: `sum by (job, datname) (pg_stat_database_numbackends{namespace="${o.namespace}", job=~"($${SERVICE_VAR})-postgresql", datname!~"template.*"})`, legend: '{{job}} {{datname}}' }],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Connections used of max_connections',
        unit: 'percentunit',
        min: 0,
        max: 1,
        width: 8,
        targets: [{ expr: `sum by (job) (pg_stat_database_numbackends${db}) / max by (job) (pg_settings_max_connections${db})`, legend: '{{job}}' }],
      }),
    )
    .withRow(new RowBuilder('Queries'))
    .withPanel(
      timeseries({
        title: 'Query p95 by operation',
        unit: 's',
        min: 0,
        targets: [{ expr: `histogram_quantile(0.95, sum by (job, operation, le) (rate(db_query_duration_seconds_bucket${sel}${r})))`, legend: '{{job}} {{operation}}' }],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Queries per second by operation',
        unit: 'ops',
        min: 0,
        targets: [{ expr: `sum by (job, operation) (rate(db_query_duration_seconds_count${sel}${r}))`, legend: '{{job}} {{operation}}' }],
      }),
    )
    .build();
}

export function businessDashboard(o: PlatformDashboardOptions): Dashboard {
  const sel = `{namespace="${o.namespace}"}`;
  // The counters the services register under these very names (the kit's contract).
  const counters = Object.values(BUSINESS_COUNTERS).map((c) => ({ metric: c.name, title: c.title }));
  const b = dashboard(PLATFORM_DASHBOARD_UIDS.business, 'courseops / Business', 'Domain counters of the course and teacher services.').withRow(
    new RowBuilder('In the selected time range'),
  );
  for (const c of counters) {
    b.withPanel(stat({ title: c.title, unit: 'short', targets: [{ expr: `sum(increase(${c.metric}${sel}[$__range]))` }] }));
  }
  b.withRow(new RowBuilder('Rates'));
  for (const c of counters) {
    b.withPanel(timeseries({ title: `${c.title} per minute`, unit: 'short', min: 0, targets: [{ expr: `sum(rate(${c.metric}${sel}${r})) * 60`, legend: c.title }] }));
  }
  return b.build();
}

export function dependenciesDashboard(o: PlatformDashboardOptions): Dashboard {
  const sel = `{namespace="${o.namespace}", ${svc}}`;
  return dashboard(PLATFORM_DASHBOARD_UIDS.dependencies, 'courseops / Dependencies', 'Outbound calls between services: circuit breakers, status codes, latency.')
    .withVariable(serviceVariable(o.namespace, o.services))
    .withPanel(
      stat({
        title: 'Circuit breaker (now)',
        unit: 'short',
        width: 24,
        mappings: breakerStates,
        targets: [{ expr: `max by (job, target) (circuit_breaker_state${sel})`, legend: '{{job}} -> {{target}}' }],
        thresholds: [
          { value: null, color: 'green' },
          { value: 1, color: 'orange' },
          { value: 2, color: 'red' },
        ],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Circuit breaker state by pod',
        unit: 'short',
        min: 0,
        max: 2,
        mappings: breakerStates,
        targets: [{ expr: `max by (job, pod, target) (circuit_breaker_state${sel})`, legend: '{{pod}} -> {{target}}' }],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Calls by status code',
        unit: 'reqps',
        min: 0,
        targets: [{ expr: `sum by (job, target, status_code) (rate(http_client_requests_total${sel}${r}))`, legend: '{{job}} -> {{target}} {{status_code}}' }],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Call p95 duration',
        unit: 's',
        min: 0,
        targets: [
          { expr: `histogram_quantile(0.95, sum by (job, target, le) (rate(http_client_request_duration_seconds_bucket${sel}${r})))`, legend: '{{job}} -> {{target}}' },
        ],
      }),
    )
    .build();
}

export function logsDashboard(o: PlatformDashboardOptions): Dashboard {
  const sel = `{namespace="${o.namespace}", ${svc}}`;
  return dashboard(PLATFORM_DASHBOARD_UIDS.logs, 'courseops / Logs volume', 'Log lines per second by level (log_messages_total); the lines themselves are in Kibana.')
    .withVariable(serviceVariable(o.namespace, o.services))
    .withPanel(
      stat({
        title: 'Error lines in range',
        unit: 'short',
        width: 12,
        targets: [{ expr: `sum(increase(log_messages_total{namespace="${o.namespace}", ${svc}, level="error"}[$__range])) or vector(0)` }],
        thresholds: [
          { value: null, color: 'green' },
          { value: 1, color: 'red' },
        ],
      }),
    )
    .withPanel(
      stat({
        title: 'Warning lines in range',
        unit: 'short',
        width: 12,
        targets: [{ expr: `sum(increase(log_messages_total{namespace="${o.namespace}", ${svc}, level="warn"}[$__range])) or vector(0)` }],
        thresholds: [
          { value: null, color: 'green' },
          { value: 1, color: 'orange' },
        ],
      }),
    )
    .withPanel(timeseries({ title: 'Log lines by level', unit: 'short', min: 0, targets: [{ expr: `sum by (level) (rate(log_messages_total${sel}${r}))`, legend: '{{level}}' }] }))
    .withPanel(
      timeseries({ title: 'Log lines by service and level', unit: 'short', min: 0, targets: [{ expr: `sum by (job, level) (rate(log_messages_total${sel}${r}))`, legend: '{{job}} {{level}}' }] }),
    )
    .build();
}

export function clusterDashboard(o: PlatformDashboardOptions): Dashboard {
  const fs = 'fstype!~"tmpfs|overlay|squashfs|ramfs", mountpoint!~"/run.*|/var/lib/kubelet.*"';
  const containers = 'container!="", container!="POD"';
  return dashboard(PLATFORM_DASHBOARD_UIDS.cluster, 'courseops / Cluster', 'Nodes (node-exporter), pods and containers (kube-state-metrics, cAdvisor).')
    .withRow(new RowBuilder('Nodes'))
    .withPanel(
      timeseries({
        title: 'Node CPU used',
        unit: 'percentunit',
        min: 0,
        max: 1,
        targets: [{ expr: `1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}${r}))`, legend: '{{instance}}' }],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Node memory used',
        unit: 'percentunit',
        min: 0,
        max: 1,
        targets: [{ expr: `1 - sum by (instance) (node_memory_MemAvailable_bytes) / sum by (instance) (node_memory_MemTotal_bytes)`, legend: '{{instance}}' }],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Filesystem used',
        unit: 'percentunit',
        min: 0,
        max: 1,
        targets: [{ expr: `1 - max by (instance, mountpoint) (node_filesystem_avail_bytes{${fs}}) / max by (instance, mountpoint) (node_filesystem_size_bytes{${fs}})`, legend: '{{instance}} {{mountpoint}}' }],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Network',
        unit: 'Bps',
        targets: [
          { expr: `sum by (instance) (rate(node_network_receive_bytes_total{device!~"lo|veth.*|cni.*"}${r}))`, legend: '{{instance}} received' },
          { expr: `-sum by (instance) (rate(node_network_transmit_bytes_total{device!~"lo|veth.*|cni.*"}${r}))`, legend: '{{instance}} sent' },
        ],
      }),
    )
    .withRow(new RowBuilder('Workloads'))
    .withPanel(
      timeseries({
        title: 'Pod restarts (1h)',
        unit: 'short',
        min: 0,
        targets: [{ expr: `sum by (namespace, pod) (increase(kube_pod_container_status_restarts_total[1h]))`, legend: '{{namespace}}/{{pod}}' }],
      }),
    )
    .withPanel(
      stat({
        title: 'Pods not ready',
        unit: 'short',
        width: 12,
        targets: [{ expr: `sum(kube_pod_status_ready{condition="false"}) or vector(0)` }],
        thresholds: [
          { value: null, color: 'green' },
          { value: 1, color: 'red' },
        ],
      }),
    )
    .withPanel(
      timeseries({
        title: 'CPU by namespace',
        unit: 'short',
        min: 0,
        targets: [{ expr: `sum by (namespace) (rate(container_cpu_usage_seconds_total{${containers}}${r}))`, legend: '{{namespace}}' }],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Memory (working set) by namespace',
        unit: 'bytes',
        min: 0,
        targets: [{ expr: `sum by (namespace) (container_memory_working_set_bytes{${containers}})`, legend: '{{namespace}}' }],
      }),
    )
    .withPanel(
      timeseries({
        title: `Memory of ${o.namespace} containers vs limit`,
        unit: 'percentunit',
        min: 0,
        targets: [
          {
            expr: `max by (pod, container) (container_memory_working_set_bytes{namespace="${o.namespace}", ${containers}}) / max by (pod, container) (kube_pod_container_resource_limits{namespace="${o.namespace}", resource="memory"})`,
            legend: '{{pod}} {{container}}',
          },
        ],
      }),
    )
    .build();
}

/** Every platform-wide dashboard, in a stable order. */
export const platformDashboards = (o: PlatformDashboardOptions): Dashboard[] => [
  overviewDashboard(o),
  runtimeDashboard(o),
  databaseDashboard(o),
  businessDashboard(o),
  dependenciesDashboard(o),
  logsDashboard(o),
  clusterDashboard(o),
];
