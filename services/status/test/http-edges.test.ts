import { sendRawBytes } from '@courseops/kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, drivers, startStatus, type RunningStatus } from './harness.js';

describe.each(drivers)('HTTP edges of the status service on %s', (driver) => {
  let status: RunningStatus;

  beforeAll(async () => {
    status = await startStatus(driver, { targets: [] });
  });
  afterAll(() => status.stop());

  it.each(['/', '/api/status', '/api/alerts'])('answers OPTIONS %s with the JSON 404', async (path) => {
    const res = await sendRawBytes(status.url, `OPTIONS ${path} HTTP/1.1\r\nHost: x\r\nX-Request-Id: opt-status\r\nConnection: close\r\n\r\n`);
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['x-request-id']).toBe('opt-status');
    expect(JSON.parse(res.text).error).toMatchObject({ code: 'not_found', requestId: 'opt-status' });
  });

  it('refuses an alert notification that is not UTF-8, and opens no incident', async () => {
    const payload = JSON.stringify({
      version: '4',
      status: 'firing',
      alerts: [{ status: 'firing', fingerprint: 'f-utf8', labels: { alertname: 'Cut', severity: 'critical' }, annotations: {}, startsAt: new Date().toISOString() }],
    });
    const [before, after] = payload.split('Cut');
    const invalidUtf8 = Buffer.concat([Buffer.from(`${before}C`), Buffer.from([0xff]), Buffer.from(`t${after}`)]);
    for (const [contentType, body, code] of [
      ['application/json; charset=utf-7', Buffer.from(payload), 'unsupported_media_type'],
      ['application/json', invalidUtf8, 'invalid_json'],
    ] as const) {
      const res = await status.call('/api/alerts', { method: 'POST', headers: { 'content-type': contentType, ...bearer() }, body });
      expect((await res.json()).error.code, contentType).toBe(code);
    }
    expect((await (await status.call('/api/status')).json()).incidents).toEqual([]);
  });
});
