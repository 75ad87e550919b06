import { mkdirSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firing, resolved, webhookPayload } from './alertPayloads.js';
import { bearer, drivers, json, startStatus, type RunningStatus } from './harness.js';
import { closedTarget, fakeTarget, type FakeTarget } from './targets.js';

const screenshots = new URL('../test-results/', import.meta.url).pathname;

interface Screen {
  viewport: { width: number; height: number };
  colorScheme: 'light' | 'dark';
}
const phone: Screen = { viewport: { width: 390, height: 844 }, colorScheme: 'light' };
const desktop: Screen = { viewport: { width: 1280, height: 800 }, colorScheme: 'light' };
const screens = { phone, desktop, 'phone in dark mode': { ...phone, colorScheme: 'dark' } } satisfies Record<string, Screen>;

describe.each(drivers)('status page in Chromium on %s', (driver) => {
  let browser: Browser;
  let status: RunningStatus;
  const fakes: FakeTarget[] = [];

  beforeAll(async () => {
    mkdirSync(screenshots, { recursive: true });
    fakes.push(await fakeTarget('course'), await fakeTarget('teacher', { softDown: true }));
    const [course, teacher] = fakes as [FakeTarget, FakeTarget];
    [browser, status] = await Promise.all([
      chromium.launch({
        executablePath: '/usr/bin/chromium',
        args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
      }),
      startStatus(driver, { targets: [course.target, teacher.target, await closedTarget('reports-with-a-rather-long-service-name')] }),
    ]);
    await status.service.prober.runRound();
    const old = firing('fp-page-old', { summary: 'Course database failover' }, { severity: 'critical' });
    await status.call('/api/alerts', json(webhookPayload([old]), bearer()));
    await status.call('/api/alerts', json(webhookPayload([resolved(old, new Date().toISOString())], 'resolved'), bearer()));
    const open = firing('fp-page-open', { summary: 'Teacher service cannot reach the course service (error rate above 5% for 10 minutes)' });
    await status.call('/api/alerts', json(webhookPayload([open]), bearer()));
  });
  afterAll(async () => {
    await browser?.close();
    await status?.stop();
    await Promise.all(fakes.map((f) => f.close()));
  });

  async function openPage(screen: Screen): Promise<Page> {
    const page = await browser.newPage(screen);
    const problems: string[] = [];
    page.on('console', (m) => problems.push(`console ${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    const res = await page.goto(status.url, { waitUntil: 'load' });
    expect(res?.status()).toBe(200);
    // No CSP violation or other complaint from the browser.
    expect(problems).toEqual([]);
    return page;
  }

  it.each(Object.entries(screens))('shows the overall state, every service and the incidents on a %s', async (name, screen) => {
    const page = await openPage(screen);
    try {
      expect(await page.title()).toBe('Service outage · Course platform status');
      await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Course platform status');
      expect(await page.locator('#overall').innerText()).toContain('Service outage');

      const service = (serviceName: string) => page.locator(`li.service[data-service="${serviceName}"]`);
      const expectService = async (serviceName: string, state: string, uptime24h: string) => {
        const card = service(serviceName);
        expect(await card.getByRole('heading').innerText()).toBe(serviceName);
        const text = await card.innerText();
        expect(text).toContain(state);
        expect(text).toMatch(new RegExp(`Uptime 24 h\\s+${uptime24h.replace('.', '\\.')}`));
        expect(text).toMatch(/Uptime 7 d\s+\d+\.\d\d%/);
        expect(text).toMatch(/Uptime 30 d\s+\d+\.\d\d%/);
        return text;
      };
      expect(await expectService('course', 'Operational', '100.00%')).toMatch(/Latency\s+\d+ ms/);
      await expectService('teacher', 'Degraded', '100.00%');
      expect(await expectService('reports-with-a-rather-long-service-name', 'Down', '0.00%')).toMatch(/Latency\s+No answer/);

      const incidents = page.locator('ol.incidents > li');
      expect(await incidents.count()).toBe(2);
      const [open, done] = [await incidents.nth(0).innerText(), await incidents.nth(1).innerText()];
      expect(open).toContain('Teacher service cannot reach the course service');
      expect(open).toMatch(/Open[\s\S]*Severity: warning[\s\S]*ongoing for/);
      expect(done).toContain('Course database failover');
      expect(done).toMatch(/Resolved[\s\S]*Severity: critical[\s\S]*resolved \d{4}-\d\d-\d\d \d\d:\d\d UTC/);

      // Nothing wider than the screen: no sideways scrolling on a phone.
      // An expression string: it runs in the page, whose DOM types this Node project does not load.
      const { scrollWidth, innerWidth } = await page.evaluate<{ scrollWidth: number; innerWidth: number }>(
        '({ scrollWidth: document.scrollingElement.scrollWidth, innerWidth: window.innerWidth })',
      );
      expect(scrollWidth).toBeLessThanOrEqual(innerWidth);

      await page.screenshot({ path: `${screenshots}status-${driver}-${name.replaceAll(' ', '-')}.png`, fullPage: true });
    } finally {
      await page.close();
    }
  });

  it('lays services out side by side on a desktop and stacked on a phone', async () => {
    const columns = async (screen: Screen) => {
      const page = await openPage(screen);
      try {
        const tops = await page.locator('li.service').evaluateAll((items) => items.map((i) => Math.round(i.getBoundingClientRect().top)));
        return new Set(tops).size === 1 ? tops.length : tops.length / new Set(tops).size;
      } finally {
        await page.close();
      }
    };
    expect(await columns(phone)).toBe(1);
    expect(await columns(desktop)).toBe(3);
  });
});
