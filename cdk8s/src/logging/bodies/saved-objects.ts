import type { MappedField } from './fields.js';

/**
 * Kibana saved objects the bootstrap Job imports (`POST /api/saved_objects/_import?overwrite=true`,
 * ndjson): a data view on `logs-*`, saved searches (errors, one request by its id, slow requests) and
 * a dashboard (error rate, request volume, response times, user activity by client IP). Every field
 * they name is a `MappedField`, and logging-fields.test.ts finds each in the services' real lines.
 */

export const DATA_VIEW_ID = 'courseops-logs';
const INDEX_REF = 'kibanaSavedObjectMeta.searchSourceJSON.index';

interface Reference {
  readonly name: string;
  readonly type: string;
  readonly id: string;
}

export interface SavedObject {
  readonly type: 'index-pattern' | 'search' | 'visualization' | 'dashboard';
  readonly id: string;
  readonly attributes: Record<string, unknown>;
  readonly references: readonly Reference[];
}

/** A KQL query and the fields it names (checked, not parsed back: `kql` builds both). */
export interface Kql {
  readonly query: string;
  readonly fields: readonly MappedField[];
}

export const kql = {
  /** `field : "value"` */
  is: (field: MappedField, value: string | number): Kql => ({ query: `${field} : ${typeof value === 'number' ? value : JSON.stringify(value)}`, fields: [field] }),
  exists: (field: MappedField): Kql => ({ query: `${field} : *`, fields: [field] }),
  atLeast: (field: MappedField, value: number): Kql => ({ query: `${field} >= ${value}`, fields: [field] }),
  or: (...parts: Kql[]): Kql => ({ query: parts.map((p) => `(${p.query})`).join(' or '), fields: [...new Set(parts.flatMap((p) => p.fields))] }),
  none: { query: '', fields: [] } as Kql,
};

/** Error lines: an error-level line or a 5xx answer (the pipeline tags the same lines `error`). */
export const ERRORS = kql.or(kql.is('log.level', 'error'), kql.atLeast('http.response.status_code', 500));
/** Access lines: one per request (API.md). */
export const REQUESTS = kql.exists('http.response.status_code');
/** A request slower than 1 s: event.duration is in nanoseconds. */
export const SLOW_REQUEST_NS = 1_000_000_000;
export const SLOW = kql.atLeast('event.duration', SLOW_REQUEST_NS);
/** The saved search "Request by id" shows every line that has one; replace `*` with the id (docs/logging.md). */
export const BY_REQUEST_ID = kql.exists('http.request.id');

const searchSource = (q: Kql, withIndex = true) =>
  JSON.stringify({ query: { query: q.query, language: 'kuery' }, filter: [], ...(withIndex ? { indexRefName: INDEX_REF } : {}) });
const dataViewRef: Reference = { name: INDEX_REF, type: 'index-pattern', id: DATA_VIEW_ID };

export interface SavedSearchDef {
  readonly id: string;
  readonly title: string;
  readonly description: string;
  readonly query: Kql;
  readonly columns: readonly MappedField[];
  readonly sort: readonly [MappedField, 'asc' | 'desc'][];
}

export const savedSearches: readonly SavedSearchDef[] = [
  {
    id: 'courseops-errors',
    title: 'Errors',
    description: 'Error-level lines and 5xx answers of every service',
    query: ERRORS,
    columns: ['service.name', 'log.level', 'http.response.status_code', 'url.path', 'http.request.id', 'message'],
    sort: [['@timestamp', 'desc']],
  },
  {
    id: 'courseops-request-by-id',
    title: 'Request by id',
    description: 'Every line of one request across services: replace * with the X-Request-Id (http.request.id : "<id>")',
    query: BY_REQUEST_ID,
    columns: ['service.name', 'http.request.id', 'log.level', 'message', 'http.response.status_code', 'event.duration'],
    sort: [['@timestamp', 'asc']],
  },
  {
    id: 'courseops-slow-requests',
    title: 'Slow requests (over 1 s)',
    description: 'Access lines whose event.duration (ns) is at least one second',
    query: SLOW,
    columns: ['service.name', 'http.route', 'http.request.method', 'event.duration', 'http.response.status_code', 'http.request.id'],
    sort: [['event.duration', 'desc']],
  },
];

/** One aggregation of an aggregation-based visualization, with the field it reads (if any). */
interface Agg {
  readonly id: string;
  readonly type: string;
  readonly schema: 'metric' | 'segment' | 'group' | 'bucket' | 'split';
  readonly params: Record<string, unknown> & { field?: MappedField };
}

export interface VisualizationDef {
  readonly id: string;
  readonly title: string;
  readonly visType: 'line' | 'histogram' | 'table';
  readonly query: Kql;
  readonly aggs: readonly Agg[];
  /** Fields named outside `params.field` (filters aggregations' queries). */
  readonly extraFields?: readonly MappedField[];
}

const overTime = (id: string): Agg => ({
  id,
  type: 'date_histogram',
  schema: 'segment',
  params: { field: '@timestamp', interval: 'auto', min_doc_count: 1, extended_bounds: {} },
});
const count = (id: string): Agg => ({ id, type: 'count', schema: 'metric', params: {} });

export const visualizations: readonly VisualizationDef[] = [
  {
    id: 'courseops-error-rate',
    title: 'Error rate over time (errors and all requests)',
    visType: 'line',
    query: kql.none,
    aggs: [
      count('1'),
      overTime('2'),
      {
        id: '3',
        type: 'filters',
        schema: 'group',
        params: {
          filters: [
            { input: { query: ERRORS.query, language: 'kuery' }, label: 'errors' },
            { input: { query: REQUESTS.query, language: 'kuery' }, label: 'requests' },
          ],
        },
      },
    ],
    extraFields: [...ERRORS.fields, ...REQUESTS.fields],
  },
  {
    id: 'courseops-request-volume',
    title: 'Request volume by service',
    visType: 'histogram',
    query: REQUESTS,
    aggs: [count('1'), overTime('2'), { id: '3', type: 'terms', schema: 'group', params: { field: 'service.name', size: 10, order: 'desc', orderBy: '1' } }],
  },
  {
    id: 'courseops-response-times',
    title: 'Response times (ns): average and 95th percentile',
    visType: 'line',
    query: REQUESTS,
    aggs: [
      { id: '1', type: 'avg', schema: 'metric', params: { field: 'event.duration' } },
      { id: '2', type: 'percentiles', schema: 'metric', params: { field: 'event.duration', percents: [95] } },
      overTime('3'),
    ],
  },
  {
    id: 'courseops-user-activity',
    title: 'User activity by client IP',
    visType: 'table',
    query: REQUESTS,
    aggs: [
      count('1'),
      { id: '2', type: 'cardinality', schema: 'metric', params: { field: 'http.request.id', customLabel: 'requests' } },
      { id: '3', type: 'max', schema: 'metric', params: { field: '@timestamp', customLabel: 'last seen' } },
      { id: '4', type: 'terms', schema: 'bucket', params: { field: 'client.ip', size: 20, order: 'desc', orderBy: '1' } },
    ],
  },
];

export const DASHBOARD_ID = 'courseops-logs-overview';

const visParams = (type: VisualizationDef['visType']): Record<string, unknown> =>
  type === 'table'
    ? { perPage: 20, showPartialRows: false, showMetricsAtAllLevels: false, showTotal: false, totalFunc: 'sum', percentageCol: '' }
    : {
        type,
        addTooltip: true,
        addLegend: true,
        legendPosition: 'right',
        times: [],
        addTimeMarker: false,
        grid: { categoryLines: false },
        categoryAxes: [{ id: 'CategoryAxis-1', type: 'category', position: 'bottom', show: true, scale: { type: 'linear' }, labels: { show: true, filter: true, truncate: 100 }, title: {} }],
        valueAxes: [{ id: 'ValueAxis-1', name: 'LeftAxis-1', type: 'value', position: 'left', show: true, scale: { type: 'linear', mode: 'normal' }, labels: { show: true, rotate: 0, filter: false, truncate: 100 }, title: {} }],
        seriesParams: [{ show: true, type: type === 'histogram' ? 'histogram' : 'line', mode: type === 'histogram' ? 'stacked' : 'normal', data: { id: '1' }, valueAxis: 'ValueAxis-1', drawLinesBetweenPoints: true, showCircles: true }],
      };

export function savedObjects(): SavedObject[] {
  const dataView: SavedObject = {
    type: 'index-pattern',
    id: DATA_VIEW_ID,
    attributes: { title: 'logs-*', name: 'courseops logs', timeFieldName: '@timestamp' },
    references: [],
  };
  const searches = savedSearches.map(
    (s): SavedObject => ({
      type: 'search',
      id: s.id,
      attributes: {
        title: s.title,
        description: s.description,
        columns: [...s.columns],
        sort: s.sort.map(([f, d]) => [f, d]),
        kibanaSavedObjectMeta: { searchSourceJSON: searchSource(s.query) },
      },
      references: [dataViewRef],
    }),
  );
  const visualizationObjects = visualizations.map(
    (v): SavedObject => ({
      type: 'visualization',
      id: v.id,
      attributes: {
        title: v.title,
        description: '',
        uiStateJSON: '{}',
        visState: JSON.stringify({ title: v.title, type: v.visType, aggs: v.aggs.map((a) => ({ ...a, enabled: true })), params: visParams(v.visType) }),
        kibanaSavedObjectMeta: { searchSourceJSON: searchSource(v.query) },
      },
      references: [dataViewRef],
    }),
  );
  const dashboard: SavedObject = {
    type: 'dashboard',
    id: DASHBOARD_ID,
    attributes: {
      title: 'courseops logs overview',
      description: 'Error rate, request volume, response times and user activity from the services\' access logs',
      timeRestore: true,
      timeFrom: 'now-24h',
      timeTo: 'now',
      optionsJSON: JSON.stringify({ useMargins: true, hidePanelTitles: false }),
      panelsJSON: JSON.stringify(
        visualizations.map((v, i) => ({
          panelIndex: String(i + 1),
          gridData: { x: (i % 2) * 24, y: Math.floor(i / 2) * 15, w: 24, h: 15, i: String(i + 1) },
          embeddableConfig: {},
          panelRefName: `panel_${i}`,
        })),
      ),
      kibanaSavedObjectMeta: { searchSourceJSON: searchSource(kql.none, false) },
    },
    references: visualizations.map((v, i) => ({ name: `panel_${i}`, type: 'visualization', id: v.id })),
  };
  return [dataView, ...searches, ...visualizationObjects, dashboard];
}

/** The `_import` file: one object per line. */
export const savedObjectsNdjson = () => savedObjects().map((o) => JSON.stringify(o)).join('\n') + '\n';

/** Every field the saved searches and the dashboard name. */
export function kibanaFields(): MappedField[] {
  const fields = [
    ...savedSearches.flatMap((s) => [...s.query.fields, ...s.columns, ...s.sort.map(([f]) => f)]),
    ...visualizations.flatMap((v) => [...v.query.fields, ...(v.extraFields ?? []), ...v.aggs.flatMap((a) => (a.params.field ? [a.params.field] : []))]),
    '@timestamp' as const,
  ];
  return [...new Set(fields)];
}
