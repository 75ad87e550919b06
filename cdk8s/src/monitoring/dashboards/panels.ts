/**
 * Small helpers over @grafana/grafana-foundation-sdk shared by every courseops dashboard: the Prometheus
 * datasource variable, the `$service` variable, time series and stat panels whose targets are plain
 * PromQL `expr` strings (the observability loop runs them against a real Prometheus).
 *
 * Template variables used in exprs (and nothing else):
 * - `$service`: the service (Prometheus `job`), multi-select with "All" (`.+`); the per-service RED
 *   dashboards have none (each is generated for one declared service);
 * - `$__rate_interval`, `$__range`: Grafana's own (range of rate() and the dashboard's time range).
 * The datasource variable `$datasource` selects the Prometheus datasource of every panel.
 */
import { ReduceDataOptionsBuilder, VizLegendOptionsBuilder, LegendDisplayMode, LegendPlacement } from '@grafana/grafana-foundation-sdk/common';
import {
  DashboardBuilder,
  DashboardCursorSync,
  DatasourceVariableBuilder,
  MappingType,
  QueryVariableBuilder,
  ThresholdsConfigBuilder,
  ThresholdsMode,
  VariableRefresh,
  VariableSort,
  type Dashboard,
  type Threshold,
  type ValueMapping,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as StatPanelBuilder } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TimeseriesPanelBuilder } from '@grafana/grafana-foundation-sdk/timeseries';

export const DASHBOARD_TAG = 'courseops';
export const DATASOURCE_VAR = 'datasource';
export const SERVICE_VAR = 'service';
export const datasource = { type: 'prometheus', uid: `\${${DATASOURCE_VAR}}` } as const;

export interface Target {
  readonly expr: string;
  readonly legend?: string;
  readonly instant?: boolean;
}

const refIds = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const targetBuilder = (t: Target, i: number) => {
  const q = new DataqueryBuilder().expr(t.expr).refId(refIds[i]!).datasource(datasource);
  if (t.legend) q.legendFormat(t.legend);
  if (t.instant) q.instant();
  else q.range();
  return q;
};

export interface PanelOptions {
  readonly title: string;
  readonly description?: string;
  readonly unit: string;
  readonly targets: readonly Target[];
  readonly width?: number;
  readonly height?: number;
  readonly min?: number;
  readonly decimals?: number;
  readonly max?: number;
  readonly thresholds?: readonly Threshold[];
  readonly mappings?: readonly ValueMapping[];
}

const thresholdsOf = (steps: readonly Threshold[]) => new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps([...steps]);

export function timeseries(o: PanelOptions): TimeseriesPanelBuilder {
  const p = new TimeseriesPanelBuilder()
    .title(o.title)
    .datasource(datasource)
    .unit(o.unit)
    .span(o.width ?? 12)
    .height(o.height ?? 8)
    .fillOpacity(10)
    .legend(new VizLegendOptionsBuilder().showLegend(true).displayMode(LegendDisplayMode.Table).placement(LegendPlacement.Bottom).calcs(['mean', 'max']))
    .targets(o.targets.map(targetBuilder));
  if (o.description) p.description(o.description);
  if (o.min !== undefined) p.min(o.min);
  if (o.decimals !== undefined) p.decimals(o.decimals);
  if (o.max !== undefined) p.max(o.max);
  if (o.thresholds) p.thresholds(thresholdsOf(o.thresholds));
  if (o.mappings) p.mappings([...o.mappings]);
  return p;
}

export function stat(o: PanelOptions): StatPanelBuilder {
  const p = new StatPanelBuilder()
    .title(o.title)
    .datasource(datasource)
    .unit(o.unit)
    .span(o.width ?? 6)
    .height(o.height ?? 4)
    .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
    .targets(o.targets.map(targetBuilder))
    .thresholds(thresholdsOf(o.thresholds ?? [{ value: null, color: 'green' }]));
  if (o.description) p.description(o.description);
  if (o.min !== undefined) p.min(o.min);
  if (o.decimals !== undefined) p.decimals(o.decimals);
  if (o.max !== undefined) p.max(o.max);
  if (o.mappings) p.mappings([...o.mappings]);
  return p;
}

/** A dashboard with the courseops defaults: stable uid, tag, the Prometheus datasource variable, UTC, 30 s refresh. */
export function dashboard(uid: string, title: string, description: string): DashboardBuilder {
  return new DashboardBuilder(title)
    .uid(uid)
    .description(description)
    .tags([DASHBOARD_TAG])
    .timezone('utc')
    .refresh('30s')
    .time({ from: 'now-1h', to: 'now' })
    .tooltip(DashboardCursorSync.Crosshair)
    .readonly()
    .withVariable(new DatasourceVariableBuilder(DATASOURCE_VAR).label('Prometheus').type('prometheus'));
}

/**
 * `$service`: the jobs of the given services that Prometheus knows (`label_values(up{namespace=...}, job)`,
 * restricted to the declared names), multi-select, All = `.+` (matched with `job=~"$service"`).
 */
export function serviceVariable(namespace: string, services: readonly string[]): QueryVariableBuilder {
  return new QueryVariableBuilder(SERVICE_VAR)
    .label('Service')
    .datasource(datasource)
    .query({ query: `label_values(up{namespace="${namespace}"}, job)`, refId: 'PrometheusVariableQueryEditor-VariableQuery' })
    .definition(`label_values(up{namespace="${namespace}"}, job)`)
    .regex(`^(${services.join('|')})$`)
    .refresh(VariableRefresh.OnDashboardLoad)
    .sort(VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    .allValue('.+')
    .current({ selected: true, text: ['All'], value: ['$__all'] });
}

export const build = (b: DashboardBuilder): Dashboard => b.build();

/** Circuit breaker states (API.md: 0 closed, 1 half-open, 2 open). */
export const breakerStates: ValueMapping[] = [
  {
    type: MappingType.ValueToText,
    options: {
      '0': { text: 'closed', color: 'green', index: 0 },
      '1': { text: 'half-open', color: 'orange', index: 1 },
      '2': { text: 'open', color: 'red', index: 2 },
    },
  },
];
