import { describe, expect, it } from 'vitest';
import { escapeHtml, html, SafeHtml } from '../src/html.js';
import { renderStatusPage } from '../src/page.js';
import type { StatusReport } from '../src/report.js';

describe('html', () => {
  it('escapes every interpolated value', () => {
    const value = `<a href="x" onclick='y'>&amp;</a>`;
    expect(html`<p title="${value}">${value}</p>`.value).toBe(
      '<p title="&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;">&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;</p>',
    );
    expect(escapeHtml('plain text')).toBe('plain text');
  });

  it('inserts nested html as markup, renders arrays item by item and skips null, undefined and false', () => {
    const items = ['<1>', '2'].map((i) => html`<li>${i}</li>`);
    expect(html`<ul>${items}</ul>${null}${undefined}${false}${0}`.value).toBe('<ul><li>&lt;1&gt;</li><li>2</li></ul>0');
  });

  it('does not trust objects that only look safe', () => {
    expect(html`${{ value: '<b>', toString: () => '<b>' }}`.value).toBe('&lt;b&gt;');
    expect(html`${new SafeHtml('<b>')}`.value).toBe('<b>');
  });
});

describe('status page', () => {
  const hostile = '"><script>alert(1)</script>';
  const report: StatusReport = {
    status: 'degraded',
    services: [{ name: hostile, status: 'degraded', uptime: { '24h': 0.99996, '7d': 0.29, '30d': null }, latencyMs: 12 }],
    incidents: [{ title: hostile, severity: hostile, startedAt: '2025-01-02T03:04:05.000Z', resolvedAt: null }],
    generatedAt: '2025-01-02T04:10:00.000Z',
  };
  const page = renderStatusPage(report);

  it('escapes service names, titles and severities', () => {
    expect(page).not.toContain('<script>');
    expect(page.match(/&quot;&gt;&lt;script&gt;alert\(1\)&lt;\/script&gt;/g)).toHaveLength(4); // name (text + data attribute), title, severity
  });

  it('is a complete page that refreshes itself and has no script', () => {
    expect(page).toMatch(/^<!doctype html>\n<html lang="en">/);
    expect(page).toContain('<meta http-equiv="refresh" content="30">');
    expect(page).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
    expect(page).not.toMatch(/<script|<link|src=/i);
  });

  it('shows states in words, uptime as percentages rounded down, and incident durations', () => {
    expect(page).toContain('Some systems degraded');
    expect(page).toContain('Degraded</span>');
    expect(page).toContain('<dd>99.99%</dd>');
    expect(page).toContain('<dd>29.00%</dd>');
    expect(page).toContain('<dd>No data</dd>');
    expect(page).toContain('<dd>12 ms</dd>');
    expect(page).toContain('<time datetime="2025-01-02T03:04:05.000Z">2025-01-02 03:04 UTC</time>, ongoing for 1 h 5 min');
  });
});

describe('status page with nothing to show', () => {
  it('says so instead of showing empty lists', () => {
    const page = renderStatusPage({ status: 'operational', services: [], incidents: [], generatedAt: '2025-01-02T04:10:00.000Z' });
    expect(page).toContain('All systems operational');
    expect(page).toContain('No services are being watched.');
    expect(page).toContain('No incidents reported recently.');
    expect(page).not.toContain('<ul class="services">');
  });
});
