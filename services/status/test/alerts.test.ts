import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { incidents } from '../src/schema.js';
import { webhookPayload, firing, resolved } from './alertPayloads.js';
import { bearer, drivers, json, startStatus, type RunningStatus } from './harness.js';

describe.each(drivers)('Alertmanager webhook on %s', (driver) => {
  let status: RunningStatus;
  let noToken: RunningStatus;

  beforeAll(async () => {
    [status, noToken] = await Promise.all([
      startStatus(driver, { targets: [] }),
      startStatus(driver, { targets: [], alertWebhookToken: undefined }),
    ]);
  });
  afterAll(() => Promise.all([status.stop(), noToken.stop()]));

  const post = (body: unknown, headers: Record<string, string> = bearer(), target = status) => target.call('/api/alerts', json(body, headers));
  const openIncidents = async (fingerprint: string) =>
    status.service.database.query('test', (db) => db.select().from(incidents).where(eq(incidents.fingerprint, fingerprint)));
  const statusBody = async () => (await status.call('/api/status')).json();

  describe('authentication', () => {
    it.each([
      ['no Authorization header', {}],
      ['a wrong token', bearer('wrong-token')],
      ['the token with a different case', bearer('TEST-WEBHOOK-TOKEN-0123456789')],
      ['the token as Basic credentials', { authorization: `Basic ${Buffer.from('x:test-webhook-token-0123456789').toString('base64')}` }],
      ['an empty bearer token', { authorization: 'Bearer ' }],
      ['a token prefix', bearer('test-webhook-token')],
    ])('answers %s with 401 and the standard error body', async (_name, headers) => {
      const res = await post(webhookPayload([firing('auth-fp')]), { ...headers, 'x-request-id': 'auth-req' });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(await res.json()).toEqual({ error: { code: 'unauthorized', message: expect.any(String), requestId: 'auth-req' } });
      expect(await openIncidents('auth-fp')).toHaveLength(0);
    });

    it('checks the token before looking at the body', async () => {
      const res = await status.call('/api/alerts', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{not json' });
      expect(res.status).toBe(401);
    });

    it('refuses everything when ALERT_WEBHOOK_TOKEN is unset, and says so at start', async () => {
      for (const headers of [{}, bearer(), bearer('undefined'), { authorization: 'Bearer' }]) {
        const res = await post(webhookPayload([firing('unset-fp')]), headers, noToken);
        expect(res.status).toBe(401);
        expect((await res.json()).error.code).toBe('unauthorized');
      }
      expect(noToken.logs.lines.some((l) => l['log.level'] === 'warn' && String(l.message).includes('ALERT_WEBHOOK_TOKEN'))).toBe(true);
      expect(status.logs.lines.some((l) => String(l.message).includes('ALERT_WEBHOOK_TOKEN'))).toBe(false);
    });
  });

  it('takes a label or annotation value that starts with U+FEFF (a byte order mark) rather than lose the notification', async () => {
    const res = await post(webhookPayload([firing('bom-fp', { summary: '\uFEFFDisk almost full' }, { team: '\uFEFFops' })]));
    expect(res.status).toBe(200);
    expect(await openIncidents('bom-fp')).toHaveLength(1);
  });

  describe('validation', () => {
    const valid = webhookPayload([firing('bad-fp')]);
    it.each([
      ['an older payload version', { ...valid, version: '3' }, 'body.version'],
      ['no alerts array', { ...valid, alerts: undefined }, 'body.alerts'],
      ['alerts not an array', { ...valid, alerts: {} }, 'body.alerts'],
      ['an unknown alert status', webhookPayload([{ ...firing('bad-fp'), status: 'pending' }]), 'body.alerts.0.status'],
      ['a start time that is not RFC 3339', webhookPayload([{ ...firing('bad-fp'), startsAt: 'yesterday' }]), 'body.alerts.0.startsAt'],
      ['a missing fingerprint', webhookPayload([{ ...firing('bad-fp'), fingerprint: undefined }]), 'body.alerts.0.fingerprint'],
      ['an empty fingerprint', webhookPayload([firing('')]), 'body.alerts.0.fingerprint'],
      ['a label that is not a string', webhookPayload([{ ...firing('bad-fp'), labels: { severity: 3 } }]), 'body.alerts.0.labels.severity'],
      ['a NUL in a summary', webhookPayload([firing('bad-fp', { summary: 'a\u0000b' })]), 'body.alerts.0.annotations.summary'],
      ['an array body', [valid], 'body'],
    ])('answers %s with 400 validation_failed naming the field', async (_name, body, path) => {
      const res = await post(body);
      expect(res.status).toBe(400);
      const { error } = await res.json();
      expect(error.code).toBe('validation_failed');
      expect(error.details.map((d: { path: string }) => d.path)).toContain(path);
      expect(await openIncidents('bad-fp')).toHaveLength(0);
    });

    it('answers invalid JSON with 400, a non-JSON body with 415, an empty body with 400', async () => {
      const call = (headers: Record<string, string>, body?: string) => status.call('/api/alerts', { method: 'POST', headers: { ...bearer(), ...headers }, ...(body === undefined ? {} : { body }) });
      let res = await call({ 'content-type': 'application/json' }, '{"version":');
      expect([res.status, (await res.json()).error.code]).toEqual([400, 'invalid_json']);
      res = await call({ 'content-type': 'text/plain' }, JSON.stringify(valid));
      expect([res.status, (await res.json()).error.code]).toEqual([415, 'unsupported_media_type']);
      res = await call({});
      expect([res.status, (await res.json()).error.code]).toEqual([400, 'validation_failed']);
    });

    it('accepts fields Alertmanager may add, such as truncatedAlerts', async () => {
      const res = await post({ ...webhookPayload([]), truncatedAlerts: 0, somethingNew: { x: 1 } });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ received: 0, opened: 0, resolved: 0 });
    });
  });

  describe('incidents', () => {
    it('opens an incident for a firing alert, with its summary, severity and start', async () => {
      const alert = firing('fp-open', { summary: 'Course API error rate above 5%' }, { severity: 'critical' });
      const res = await post(webhookPayload([alert]));
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ received: 1, opened: 1, resolved: 0 });
      const body = await statusBody();
      expect(body.incidents).toContainEqual({ title: 'Course API error rate above 5%', severity: 'critical', startedAt: alert.startsAt, resolvedAt: null });
    });

    it('does not duplicate an open incident when the alert repeats, even concurrently', async () => {
      const alert = firing('fp-repeat', { summary: 'Repeating' });
      expect((await (await post(webhookPayload([alert]))).json()).opened).toBe(1);
      expect((await (await post(webhookPayload([alert]))).json()).opened).toBe(0);
      const concurrent = await Promise.all(Array.from({ length: 5 }, () => post(webhookPayload([firing('fp-race')]))));
      expect(concurrent.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
      expect(await openIncidents('fp-repeat')).toHaveLength(1);
      expect(await openIncidents('fp-race')).toHaveLength(1);
    });

    it('resolves the open incident at the alert end time, and a new firing opens a new one', async () => {
      const alert = firing('fp-resolve', { summary: 'Teacher pods restarting' });
      await post(webhookPayload([alert]));
      const endsAt = new Date(Date.parse(alert.startsAt) + 5 * 60_000).toISOString();
      const res = await post(webhookPayload([resolved(alert, endsAt)], 'resolved'));
      expect(await res.json()).toEqual({ received: 1, opened: 0, resolved: 1 });
      expect((await statusBody()).incidents).toContainEqual({ title: 'Teacher pods restarting', severity: 'warning', startedAt: alert.startsAt, resolvedAt: endsAt });
      // Resolving again changes nothing.
      expect((await (await post(webhookPayload([resolved(alert, endsAt)], 'resolved'))).json()).resolved).toBe(0);
      await post(webhookPayload([firing('fp-resolve', { summary: 'Teacher pods restarting' })]));
      const rows = await openIncidents('fp-resolve');
      expect(rows).toHaveLength(2);
      expect(rows.filter((r) => r.resolvedAt === null)).toHaveLength(1);
    });

    it('takes Alertmanager\'s nanosecond times and keeps milliseconds', async () => {
      const alert = { ...firing('fp-nanos'), startsAt: '2025-03-04T05:06:07.123456789Z' };
      await post(webhookPayload([alert]));
      const [row] = await openIncidents('fp-nanos');
      expect(row?.startedAt.toISOString()).toBe('2025-03-04T05:06:07.123Z');
    });

    it('titles from alertname when there is no summary, and defaults severity to warning', async () => {
      const alert = firing('fp-name', {}, { alertname: 'StatusTargetDown' });
      delete (alert.labels as Record<string, string>).severity;
      await post(webhookPayload([alert]));
      const [row] = await openIncidents('fp-name');
      expect(row).toMatchObject({ title: 'StatusTargetDown', severity: 'warning' });
    });

    it('handles firing and resolved alerts of one notification together', async () => {
      const a = firing('fp-mix-a');
      const b = firing('fp-mix-b');
      await post(webhookPayload([a]));
      const res = await post(webhookPayload([resolved(a, new Date().toISOString()), b]));
      expect(await res.json()).toEqual({ received: 2, opened: 1, resolved: 1 });
    });

    it('lists open incidents first (criticals, then the others, each newest first), then resolved ones', async () => {
      const { incidents: list } = await statusBody();
      const firstResolved = list.findIndex((i: { resolvedAt: string | null }) => i.resolvedAt !== null);
      expect(firstResolved).toBeGreaterThan(0);
      expect(list.slice(firstResolved).every((i: { resolvedAt: string | null }) => i.resolvedAt !== null)).toBe(true);
      const open: { severity: string; startedAt: string }[] = list.slice(0, firstResolved);
      const firstOther = open.findIndex((i) => i.severity !== 'critical');
      expect(firstOther).toBeGreaterThan(0);
      expect(open.slice(firstOther).every((i) => i.severity !== 'critical')).toBe(true);
      for (const group of [open.slice(0, firstOther), open.slice(firstOther)]) {
        const starts = group.map((i) => i.startedAt);
        expect(starts).toEqual([...starts].sort().reverse());
      }
      for (const i of list) expect(Object.keys(i).sort()).toEqual(['resolvedAt', 'severity', 'startedAt', 'title']);
    });

    it('counts received alerts by status', async () => {
      const metrics = await (await status.call('/metrics')).text();
      expect(metrics).toMatch(/status_alerts_received_total\{status="firing"\} [1-9]/);
      expect(metrics).toMatch(/status_alerts_received_total\{status="resolved"\} [1-9]/);
      expect(metrics).toMatch(/http_requests_total\{method="POST",route="\/api\/alerts",status_code="401"\} [1-9]/);
    });
  });

  describe('status page escaping', () => {
    it('shows a hostile summary as text, never as markup', async () => {
      const hostile = `<script>alert("pwned")</script><img src=x onerror=alert(1)> & 'quotes'`;
      await post(webhookPayload([firing('fp-xss', { summary: hostile }, { severity: '<b>critical</b>' })]));
      const res = await status.call('/');
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      const page = await res.text();
      expect(page).not.toContain('<script');
      expect(page).not.toContain('<img');
      expect(page).not.toContain('<b>');
      expect(page).toContain('&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt; &amp; &#39;quotes&#39;');
      expect(page).toContain('&lt;b&gt;critical&lt;/b&gt;');
      // The JSON carries the text as it came.
      expect((await statusBody()).incidents).toContainEqual(expect.objectContaining({ title: hostile }));
    });
  });
});
