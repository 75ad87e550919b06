import { formatDuration, formatLatency, formatTime, formatUptime, overallLabel, stateLabel } from './format.js';
import { html, type SafeHtml } from './html.js';
import { pageStyle } from './pageStyle.js';
import type { Incident, ServiceStatus, StatusReport } from './report.js';
import type { ServiceState } from './schema.js';

/** Seconds between automatic reloads of the page (a meta refresh: the page runs no script). */
export const refreshSeconds = 30;

const statePill = (state: ServiceState) =>
  html`<span class="pill state-${state}"><span aria-hidden="true">${stateLabel[state].symbol}</span> ${stateLabel[state].text}</span>`;

const time = (iso: string) => html`<time datetime="${iso}">${formatTime(iso)}</time>`;

function serviceCard(service: ServiceStatus): SafeHtml {
  const figures: [string, string][] = [
    ['Uptime 24 h', formatUptime(service.uptime['24h'])],
    ['Uptime 7 d', formatUptime(service.uptime['7d'])],
    ['Uptime 30 d', formatUptime(service.uptime['30d'])],
    ['Latency', formatLatency(service.latencyMs)],
  ];
  return html`<li class="card service" data-service="${service.name}">
    <div class="card-head"><h3>${service.name}</h3>${statePill(service.status)}</div>
    <dl class="figures">${figures.map(([label, value]) => html`<div><dt>${label}</dt><dd>${value}</dd></div>`)}</dl>
  </li>`;
}

function incidentItem(incident: Incident, now: number): SafeHtml {
  const open = incident.resolvedAt === null;
  const lasted = (open ? now : Date.parse(incident.resolvedAt!)) - Date.parse(incident.startedAt);
  return html`<li class="card incident ${open ? 'incident-open' : 'incident-resolved'}">
    <div class="card-head">
      <h3>${incident.title}</h3>
      <span class="pill ${open ? 'state-down' : 'state-operational'}"><span aria-hidden="true">${open ? '●' : '✓'}</span> ${open ? 'Open' : 'Resolved'}</span>
    </div>
    <p class="incident-meta">Severity: <strong>${incident.severity}</strong></p>
    <p class="incident-meta">Started ${time(incident.startedAt)}${
      open ? html`, ongoing for ${formatDuration(lasted)}` : html` · resolved ${time(incident.resolvedAt!)}, after ${formatDuration(lasted)}`
    }</p>
  </li>`;
}

/** The public status page (API.md "GET /"): every dynamic value goes through `html`, so it is escaped. */
export function renderStatusPage(report: StatusReport): string {
  const now = Date.parse(report.generatedAt);
  const page = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="${refreshSeconds}">
<title>${overallLabel[report.status]} · Course platform status</title>
<style>${pageStyle}</style>
</head>
<body>
<header><h1>Course platform status</h1></header>
<main>
  <section class="banner state-${report.status}" aria-labelledby="overall">
    <p class="banner-text" id="overall"><span aria-hidden="true">${stateLabel[report.status].symbol}</span> ${overallLabel[report.status]}</p>
    <p class="updated">Updated ${time(report.generatedAt)}; this page refreshes every ${refreshSeconds} seconds.</p>
  </section>
  <section aria-labelledby="services-heading">
    <h2 id="services-heading">Services</h2>
    ${
      report.services.length > 0
        ? html`<ul class="services">${report.services.map(serviceCard)}</ul>`
        : html`<p class="empty">No services are being watched.</p>`
    }
  </section>
  <section aria-labelledby="incidents-heading">
    <h2 id="incidents-heading">Incidents</h2>
    ${
      report.incidents.length > 0
        ? html`<ol class="incidents">${report.incidents.map((i) => incidentItem(i, now))}</ol>`
        : html`<p class="empty">No incidents reported recently.</p>`
    }
  </section>
</main>
<footer>Uptime is the share of readiness checks that found the service up. The same data as JSON: <a href="/api/status">/api/status</a>.</footer>
</body>
</html>
`;
  return page.value;
}
