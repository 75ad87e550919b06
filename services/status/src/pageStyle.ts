import { SafeHtml } from './html.js';

/**
 * The page's only stylesheet, inline: no external assets, and helmet's default CSP allows inline styles
 * (not scripts; the page has none). Mobile first; light and dark schemes; colours meet WCAG AA contrast.
 */
export const pageStyle = new SafeHtml(`
:root {
  color-scheme: light dark;
  --bg: #f6f7f9; --card: #ffffff; --text: #1b1f24; --muted: #4d5662; --border: #d5dae1;
  --ok-bg: #e3f4e8; --ok-fg: #125c2b; --warn-bg: #fff3d6; --warn-fg: #6b4800; --down-bg: #fde6e6; --down-fg: #8a1414;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #111418; --card: #1a1f25; --text: #e8ebef; --muted: #a9b2bd; --border: #343c46;
    --ok-bg: #12361f; --ok-fg: #8fe0a8; --warn-bg: #3d2e07; --warn-fg: #f5cf73; --down-bg: #451515; --down-fg: #ffb1b1;
  }
}
* { box-sizing: border-box; }
body {
  margin: 0; background: var(--bg); color: var(--text);
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
}
header, main, footer { max-width: 64rem; margin: 0 auto; padding: 0 1rem; }
header { padding-top: 1.25rem; }
h1 { font-size: 1.5rem; margin: 0 0 1rem; }
h2 { font-size: 1.2rem; margin: 2rem 0 0.75rem; }
h3 { font-size: 1.05rem; margin: 0; overflow-wrap: anywhere; }
p { margin: 0; }
.banner { border-radius: 0.75rem; padding: 1rem 1.25rem; border: 1px solid var(--border); }
.banner-text { font-size: 1.25rem; font-weight: 700; }
.updated { color: inherit; font-size: 0.9rem; margin-top: 0.25rem; }
.state-operational { background: var(--ok-bg); color: var(--ok-fg); }
.state-degraded { background: var(--warn-bg); color: var(--warn-fg); }
.state-down { background: var(--down-bg); color: var(--down-fg); }
.services, .incidents { list-style: none; margin: 0; padding: 0; display: grid; gap: 0.75rem; }
.services { grid-template-columns: repeat(auto-fill, minmax(min(100%, 19rem), 1fr)); }
.card { background: var(--card); border: 1px solid var(--border); border-radius: 0.75rem; padding: 1rem; min-width: 0; }
.card-head { display: flex; flex-wrap: wrap; align-items: center; justify-content: space-between; gap: 0.5rem; }
.pill { display: inline-block; border-radius: 999px; padding: 0.1rem 0.65rem; font-weight: 600; font-size: 0.9rem; white-space: nowrap; }
.figures { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 0.5rem 1rem; margin: 0.75rem 0 0; }
.figures div { min-width: 0; }
.figures dt { color: var(--muted); font-size: 0.85rem; }
.figures dd { margin: 0; font-weight: 600; font-variant-numeric: tabular-nums; }
.incident-meta { color: var(--muted); font-size: 0.9rem; margin-top: 0.35rem; }
.incident-open { border-left: 0.35rem solid var(--down-fg); }
.empty { color: var(--muted); }
footer { color: var(--muted); font-size: 0.85rem; padding-top: 2rem; padding-bottom: 2rem; }
a { color: inherit; }
`);
