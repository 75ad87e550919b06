import { bodyValidator, openApiErrors, responseValidator, testFetch } from '@courseops/kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firing, webhookPayload } from './alertPayloads.js';
import { bearer, drivers, json, startStatus, type RunningStatus } from './harness.js';

describe.each(drivers)('status /openapi.json on %s', (driver) => {
  let status: RunningStatus;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let document: any;
  const call = (path: string, init: RequestInit = {}) => testFetch(`${status.url}${path}`, init);

  beforeAll(async () => {
    status = await startStatus(driver, { targets: [{ name: 'course', url: 'http://127.0.0.1:9/readyz' }] });
    const res = await call('/openapi.json');
    expect(res.status).toBe(200);
    document = await res.json();
  });
  afterAll(() => status.stop());

  it('is a valid OpenAPI 3.1 document of every route, the webhook behind its bearer token', async () => {
    expect(await openApiErrors(document)).toEqual({ version: '3.1', errors: undefined });
    expect(Object.keys(document.paths).sort()).toEqual(['/', '/api/alerts', '/api/status', '/healthz', '/metrics', '/readyz']);
    expect(document.paths['/api/alerts'].post.security).toEqual([{ alertWebhookToken: [] }]);
    expect(document.components.securitySchemes.alertWebhookToken).toMatchObject({ type: 'http', scheme: 'bearer' });
  });

  const alert = (fingerprint: string, changes: Record<string, unknown> = {}) => ({ ...firing(fingerprint), ...changes });
  let fingerprints = 0;

  it.each([
    ['a notification as Alertmanager sends it', (fp: string) => webhookPayload([alert(fp)])],
    ['one with an unknown field (kept out, not refused)', (fp: string) => ({ ...webhookPayload([alert(fp)]), extra: true })],
    ['another version', (fp: string) => ({ ...webhookPayload([alert(fp)]), version: '3' })],
    ['a time that is not RFC 3339', (fp: string) => webhookPayload([alert(fp, { startsAt: '2024-01-01 10:00' })])],
    ['an empty fingerprint', () => webhookPayload([alert('')])],
    ['a label value with NUL', (fp: string) => webhookPayload([alert(fp, { labels: { alertname: 'a\u0000' } })])],
    ['a summary starting with U+FEFF', (fp: string) => webhookPayload([alert(fp, { annotations: { summary: '\ufeffdown' } })])],
  ])('answers 200 to %s exactly when the document accepts it, else 400', async (_name, make) => {
    const body = make(`openapi-${driver}-${++fingerprints}`);
    const accepts = bodyValidator(document, '/api/alerts', 'post');
    const res = await call('/api/alerts', json(body, bearer()));
    expect(res.status).toBe(accepts(body) ? 200 : 400);
  });

  it('describes the answers the service gives', async () => {
    const received = await call('/api/alerts', json(webhookPayload([alert(`openapi-${driver}-answer`)]), bearer()));
    expect(responseValidator(document, '/api/alerts', 'post', 200)(await received.json())).toBe(true);
    const refused = await call('/api/alerts', json(webhookPayload([]), bearer('wrong')));
    expect(refused.status).toBe(401);
    expect(responseValidator(document, '/api/alerts', 'post', 401)(await refused.json())).toBe(true);
    await status.service.prober.runRound();
    const report = await (await call('/api/status')).json();
    expect(report.services).toHaveLength(1);
    expect(report.incidents.length).toBeGreaterThan(0);
    expect(responseValidator(document, '/api/status', 'get', 200)(report)).toBe(true);
  });
});
