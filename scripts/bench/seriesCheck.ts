/**
 * Proof that ids in paths never become metric series: 10,000 requests to distinct random ids (and junk)
 * against an instrumented service, counting the /metrics series before and after.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import autocannon from 'autocannon';
import type { RunningServer } from './processes.js';
import { fmt, table } from './report.js';

const distinctIds = 10_000;

/** Metric samples of a /metrics text, by metric family name. */
function seriesByFamily(text: string): Map<string, number> {
  const families = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.trim() || line.startsWith('#')) continue;
    const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)![0].replace(/_(bucket|sum|count)$/, '');
    families.set(name, (families.get(name) ?? 0) + 1);
  }
  return families;
}
const total = (families: Map<string, number>) => [...families.values()].reduce((a, b) => a + b, 0);
/** The families the service defines (prom-client's default nodejs_/process_ ones change on their own). */
const isAppFamily = (name: string) => /^(http_|db_|log_|courses_)/.test(name);

/** Random ids, mostly UUIDs, some junk: what a crawler or a buggy client would send. */
function randomIdPath(): { id: string; path: string } {
  const r = Math.random();
  const id =
    r < 0.8
      ? randomUUID()
      : r < 0.9
        ? randomBytes(6).toString('hex')
        : r < 0.95
          ? `%zz${randomBytes(3).toString('hex')}`
          : encodeURIComponent(`é${randomBytes(4).toString('base64')}`);
  return { id, path: `/api/courses/${id}` };
}

export async function metricSeriesCheck(service: RunningServer): Promise<boolean> {
  const scrape = async () => (await fetch(`${service.url}/metrics`)).text();
  const sentIds = new Set<string>();
  const run = (amount: number) =>
    autocannon({
      url: service.url,
      connections: 10,
      amount,
      requests: [
        {
          method: 'GET',
          setupRequest: (request) => {
            const { id, path } = randomIdPath();
            sentIds.add(id);
            return { ...request, path };
          },
        },
      ],
    });
  // Every kind of answer once first (404 and 400 for ids, 200 for /metrics itself), so the label sets
  // they create exist before counting.
  await scrape();
  await run(500);
  const beforeText = await scrape();
  const before = seriesByFamily(beforeText);
  sentIds.clear();
  const result = await run(distinctIds);
  const afterText = await scrape();
  const after = seriesByFamily(afterText);

  const labelValues = new Set([...afterText.matchAll(/="((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!));
  const leaked = [...sentIds].filter((id) => labelValues.has(id) || labelValues.has(decodeURIComponentSafe(id)));
  const uuidLabels = [...labelValues].filter((v) => /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i.test(v));
  const grownApp = [...after].filter(([name, n]) => isAppFamily(name) && n > (before.get(name) ?? 0));
  const grownOther = [...after].filter(([name, n]) => !isAppFamily(name) && n !== (before.get(name) ?? 0));

  console.log(`\nMetric series (/metrics sample lines) around ${fmt(result.requests.total)} requests to ${fmt(sentIds.size)} distinct ids`);
  console.log(`(answers: ${Object.entries(result.statusCodeStats ?? {}).map(([code, s]) => `${code} × ${fmt(s.count ?? 0)}`).join(', ')})\n`);
  table([
    ['series', 'before', 'after', 'growth'],
    ['all', fmt(total(before)), fmt(total(after)), fmt(total(after) - total(before))],
    ...['http_requests_total', 'http_request_duration_seconds', 'db_query_duration_seconds', 'log_messages_total'].map((name) => [
      name,
      fmt(before.get(name) ?? 0),
      fmt(after.get(name) ?? 0),
      fmt((after.get(name) ?? 0) - (before.get(name) ?? 0)),
    ]),
  ]);
  const beforeLines = new Set(beforeText.split('\n').map((l) => l.replace(/ [^ ]+$/, '')));
  const newSeries = afterText.split('\n').filter((l) => l && !l.startsWith('#') && !beforeLines.has(l.replace(/ [^ ]+$/, '')));
  if (newSeries.length > 0) console.log(`\nnew series:\n  ${newSeries.slice(0, 20).join('\n  ')}`);
  if (grownOther.length > 0) console.log(`\nprom-client default families that changed on their own: ${grownOther.map(([n, c]) => `${n} ${before.get(n) ?? 0}→${c}`).join(', ')}`);
  const ok = grownApp.length === 0 && leaked.length === 0 && uuidLabels.length === 0;
  console.log(
    ok
      ? '\nOK: the series did not grow with the ids, and no id appears in any label.'
      : `\nFAIL: series grew with the ids: ${JSON.stringify({ grownApp, leaked: leaked.slice(0, 5), uuidLabels: uuidLabels.slice(0, 5) })}`,
  );
  return ok;
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
