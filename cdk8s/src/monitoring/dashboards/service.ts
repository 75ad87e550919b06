/**
 * The RED dashboard of one service, derived from its declaration (services.ts): request rate, error
 * ratio (5xx share), p50/p95/p99 duration by route and requests in flight, plus the dependency panels of
 * a service that `calls` others and the database panels of one with a `database`. Probe and scrape routes
 * (/healthz, /readyz, /metrics: NON_SLI_ROUTES) are left out of rates, ratios and latencies; a separate
 * panel shows them. Matchers follow the ServiceMonitor: `job` is the service name, `namespace` its namespace.
 * No template variable but `$datasource` and `$__rate_interval`.
 */
import { MappingType, RowBuilder, type Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import type { ServiceDecl } from '../../services.js';
import { NON_SLI_ROUTES, NON_SLI_ROUTE_MATCHER, selector } from '../rules.js';
import { thresholdsOf } from '../../slo.js';
import { databaseJob, P95_RECORD, sliRecord } from '../service-rules.js';
import { breakerStates, dashboard, stat, timeseries } from './panels.js';

export const serviceDashboardUid = (service: string) => `courseops-${service}-red`;

export function serviceDashboard(decl: ServiceDecl, namespace: string, options: { externalDatabase?: boolean } = {}): Dashboard {
  const name = decl.name;
  // The same thresholds as the service's alerts and canary gates.
  const slo = thresholdsOf(decl);
  const target = { job: name, namespace };
  const sel = (...extra: string[]) => selector(target, ...extra);
  const traffic = sel(NON_SLI_ROUTE_MATCHER);
  const errors = sel(NON_SLI_ROUTE_MATCHER, 'status_code=~"5.."');
  const r = '[$__rate_interval]';
  const quantile = (q: number) => ({
    expr: `histogram_quantile(${q}, sum by (route, le) (rate(http_request_duration_seconds_bucket${traffic}${r})))`,
    legend: `p${Math.round(q * 100)} {{route}}`,
  });

  const b = dashboard(serviceDashboardUid(name), `courseops / ${name} / RED`, `${decl.description}: rate, errors and duration (generated from services.ts).`)
    .withRow(new RowBuilder('Summary'))
    .withPanel(stat({ title: 'Requests/s', unit: 'reqps', targets: [{ expr: `sum(rate(http_requests_total${traffic}${r}))` }] }))
    .withPanel(
      stat({
        title: 'Error ratio (5xx)',
        unit: 'percentunit',
        targets: [{ expr: `${sliRecord('5m')}${selector({ ...target, slo: 'availability' })}` }],
        thresholds: [
          { value: null, color: 'green' },
          { value: slo.errorRatio, color: 'red' },
        ],
      }),
    )
    .withPanel(
      stat({
        title: 'p95 duration',
        unit: 's',
        targets: [{ expr: `${P95_RECORD}${sel()}` }],
        thresholds: [
          { value: null, color: 'green' },
          { value: slo.latencyP95Seconds, color: 'red' },
        ],
      }),
    )
    .withPanel(
      stat({
        title: 'Instances up',
        unit: 'short',
        targets: [{ expr: `sum(up${sel()})` }],
        thresholds: [
          { value: null, color: 'red' },
          { value: decl.replicas.min, color: 'green' },
        ],
      }),
    )
    .withRow(new RowBuilder('Rate'))
    .withPanel(
      timeseries({
        title: 'Request rate by route',
        unit: 'reqps',
        min: 0,
        targets: [{ expr: `sum by (method, route) (rate(http_requests_total${traffic}${r}))`, legend: '{{method}} {{route}}' }],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Request rate by status code',
        unit: 'reqps',
        min: 0,
        targets: [{ expr: `sum by (status_code) (rate(http_requests_total${traffic}${r}))`, legend: '{{status_code}}' }],
      }),
    )
    .withRow(new RowBuilder('Errors'))
    .withPanel(
      timeseries({
        title: 'Error ratio (5xx share)',
        description: `Share of answers with a 5xx status, without ${NON_SLI_ROUTES.join(', ')}. Alert threshold ${slo.errorRatio}.`,
        unit: 'percentunit',
        min: 0,
        targets: [{ expr: `(sum(rate(http_requests_total${errors}${r})) or vector(0)) / sum(rate(http_requests_total${traffic}${r}))`, legend: '5xx share' }],
        thresholds: [
          { value: null, color: 'green' },
          { value: slo.errorRatio, color: 'red' },
        ],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Error ratio by route',
        unit: 'percentunit',
        min: 0,
        targets: [
          {
            // `or ... * 0`: 0 for routes without any 5xx yet (as the SLI recording rules do).
            expr: `(sum by (route) (rate(http_requests_total${errors}${r})) or sum by (route) (rate(http_requests_total${traffic}${r})) * 0) / sum by (route) (rate(http_requests_total${traffic}${r}))`,
            legend: '{{route}}',
          },
        ],
      }),
    )
    .withRow(new RowBuilder('Duration'))
    .withPanel(timeseries({ title: 'p50 duration by route', unit: 's', min: 0, width: 8, targets: [quantile(0.5)] }))
    .withPanel(timeseries({ title: 'p95 duration by route', unit: 's', min: 0, width: 8, targets: [quantile(0.95)] }))
    .withPanel(timeseries({ title: 'p99 duration by route', unit: 's', min: 0, width: 8, targets: [quantile(0.99)] }))
    .withRow(new RowBuilder('Saturation'))
    .withPanel(
      timeseries({
        title: 'Requests in flight',
        unit: 'short',
        min: 0,
        targets: [{ expr: `sum by (pod) (http_requests_in_flight${sel()})`, legend: '{{pod}}' }],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Probe and scrape traffic',
        description: `${NON_SLI_ROUTES.join(', ')}: left out of every other panel.`,
        unit: 'reqps',
        min: 0,
        targets: [{ expr: `sum by (route, status_code) (rate(http_requests_total${sel(`route=~"${NON_SLI_ROUTES.join('|')}"`)}${r}))`, legend: '{{route}} {{status_code}}' }],
      }),
    );

  if ((decl.calls ?? []).length > 0) {
    b.withRow(new RowBuilder('Dependencies'))
      .withPanel(
        timeseries({
          title: 'Circuit breaker state',
          unit: 'short',
          min: 0,
          max: 2,
          mappings: breakerStates,
          targets: [{ expr: `max by (target) (circuit_breaker_state${sel()})`, legend: '{{target}}' }],
        }),
      )
      .withPanel(
        timeseries({
          title: 'Outbound calls by status code',
          unit: 'reqps',
          min: 0,
          targets: [{ expr: `sum by (target, status_code) (rate(http_client_requests_total${sel()}${r}))`, legend: '{{target}} {{status_code}}' }],
        }),
      );
  }
  if (decl.database) {
    const row = b.withRow(new RowBuilder('Database')).withPanel(
      timeseries({
        title: 'Query p95 by operation',
        unit: 's',
        min: 0,
        targets: [{ expr: `histogram_quantile(0.95, sum by (operation, le) (rate(db_query_duration_seconds_bucket${sel()}${r})))`, legend: '{{operation}}' }],
      }),
    );
    // An external database has no postgres-exporter here: its provider's console shows whether it is up.
    if (!options.externalDatabase)
      row.withPanel(
        stat({
          title: 'PostgreSQL up',
          unit: 'short',
          width: 12,
          targets: [{ expr: `max(pg_up${selector({ job: databaseJob(name), namespace })})` }],
          mappings: [{ type: MappingType.ValueToText, options: { '0': { text: 'down', color: 'red', index: 0 }, '1': { text: 'up', color: 'green', index: 1 } } }],
        }),
      );
  }
  return b.build();
}
