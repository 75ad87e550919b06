/**
 * Keyset pages at two table sizes: the first page and a page at 90 % depth, each from a course service
 * on its own database (1,000 rows, and BENCH_LIST_ROWS, a million by default). API.md: the cost of a page
 * depends neither on the table's size nor on the page's depth; the target holds each large-table page
 * within 1.5× of the small table's first page, by p50 latency.
 */
import { alternatingRounds, failures, measure, type LoadSettings, type Measurement } from './load.js';
import type { RunningServer } from './processes.js';
import { fmt, median, table, type Verdict } from './report.js';

export const listLatencyTarget = 1.5;

export interface ListPage {
  name: string;
  rows: number;
  depth: 'first page' | '90 % depth';
  server: RunningServer;
  /** Path and query, with the cursor for a deep page. */
  path: string;
}

export function measureListPages(pages: ListPage[], settings: LoadSettings, rounds: number): Promise<Map<ListPage, Measurement[]>> {
  return alternatingRounds(pages, rounds, (page) => measure(page.server, { method: 'GET', path: page.path }, settings));
}

/** The table of pages (medians over rounds) and the verdicts; the baseline is the small table's first page. */
export function reportListPages(results: Map<ListPage, Measurement[]>): Verdict[] {
  const pages = [...results.keys()];
  const baselinePage = pages.find((p) => p.depth === 'first page' && p.rows === Math.min(...pages.map((q) => q.rows)))!;
  const baseline = results.get(baselinePage)!;
  const rows = [['page', 'rows', 'p50 ms', 'p99 ms', 'req/s', `p50 ÷ ${fmt(baselinePage.rows)}-row first page`, 'per round']];
  const verdicts: Verdict[] = [];
  for (const page of pages) {
    const ms = results.get(page)!;
    // Paired per round: both runs of a round saw the same machine, whatever else it was doing.
    const ratios = ms.map((m, i) => m.p50 / baseline[i]!.p50);
    const ratio = median(ratios);
    rows.push([
      page.depth,
      fmt(page.rows),
      fmt(median(ms.map((m) => m.p50)), 1),
      fmt(median(ms.map((m) => m.p99)), 1),
      fmt(median(ms.map((m) => m.rps))),
      page === baselinePage ? '1 (baseline)' : `${fmt(ratio, 2)}×`,
      ratios.map((r) => fmt(r, 2)).join(' '),
    ]);
    if (page.rows !== baselinePage.rows) {
      verdicts.push({
        target: `list ${page.depth} at ${fmt(page.rows)} rows ≤ ${listLatencyTarget}× the ${fmt(baselinePage.rows)}-row first page (p50)`,
        // Answers that failed are not pages: their latency proves nothing.
        measured: `${fmt(ratio, 2)}×${failures(ms) + failures(baseline) ? `, ${fmt(failures(ms) + failures(baseline))} requests failed` : ''}`,
        met: ratio <= listLatencyTarget && failures(ms) + failures(baseline) === 0,
      });
    }
  }
  table(rows);
  const failed = failures([...results.values()].flat());
  if (failed > 0) console.log(`\nWARNING: ${fmt(failed)} list requests failed or answered non-2xx`);
  return verdicts;
}
