import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { createLogger, createMetrics, createServiceApp, HttpError, instrument, memoryLogStream, mount, Readiness } from '@courseops/kit';
import { serveOnLoopback, testFetch, type RunningApp } from '@courseops/kit/testing';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The access log line and request metrics (API.md "logs" and "Metrics every service exposes") of a service
 * app with a mounted router, a route of the app itself, a failing route and one that waits for the test.
 */
describe('request metrics and the access log', () => {
  const logs = memoryLogStream();
  const metrics = createMetrics();
  const logger = createLogger({ service: 'kit', version: '0.0.0', level: 'info', metrics, stream: logs });
  /** The slow route tells the test it has the request, then answers when the test lets it. */
  let slowArrived: () => void = () => undefined;
  let releaseSlow: () => void = () => undefined;
  let running: RunningApp;

  beforeAll(async () => {
    const things = express.Router();
    things.get('/', (_req, res) => void res.json({ items: [] }));
    things.get('/:id', (_req, res) => void res.json({ ok: true }));
    things.get('/:id/pause', (_req, res) => void setTimeout(() => res.json({ ok: true }), 30));
    things.get('/:id/broken', () => {
      throw new Error('boom');
    });
    things.get('/:id/conflict', () => {
      throw new HttpError('conflict', 'taken');
    });
    things.get('/:id/slow', (_req, res) => {
      new Promise<void>((resolve) => {
        releaseSlow = resolve;
        slowArrived();
      }).then(() => res.json({ ok: true }), () => undefined);
    });
    const app = createServiceApp(
      // The test client stands in for the ingress, so X-Forwarded-For names the client.
      { logger, metrics, readiness: new Readiness(), rateLimitPerMinute: 100_000, trustedProxies: ['127.0.0.1/32'] },
      (app) => {
        mount(app, '/api/things', things);
        app.get('/', (_req, res) => void res.send('home'));
        app.get('/about/:topic', (_req, res) => void res.send('about'));
      },
    );
    running = await serveOnLoopback(app);
  });
  afterAll(() => running.close());

  /** Sends a GET with a fresh request id and returns its access log line (written once the answer is done). */
  async function accessLine(path: string, headers: Record<string, string> = {}): Promise<Record<string, unknown>> {
    const id = randomUUID();
    const res = await testFetch(`${running.url}${path}`, { headers: { 'x-request-id': id, ...headers } });
    await res.arrayBuffer();
    return loggedLine(id);
  }
  async function loggedLine(id: string): Promise<Record<string, unknown>> {
    for (let tries = 0; tries < 200; tries++) {
      const line = logs.lines.find((l) => l['http.request.id'] === id && 'http.route' in l);
      if (line) return line;
      await new Promise((r) => setTimeout(r, 5));
    }
    throw new Error(`no access log line for request ${id}`);
  }
  const requestsTotal = async (labels: { method: string; route: string; status_code: string }) =>
    (await metrics.httpRequestsTotal.get()).values.find(
      (v) => v.labels.method === labels.method && v.labels.route === labels.route && v.labels.status_code === labels.status_code,
    )?.value ?? 0;

  it('writes one ECS line per request with what was asked, by whom, the answer and the route', async () => {
    const line = await accessLine('/api/things/42', { 'x-forwarded-for': '203.0.113.7', 'user-agent': 'instrument-test/1.0' });
    expect(line).toMatchObject({
      'log.level': 'info',
      message: 'GET /api/things/42 200',
      'http.request.method': 'GET',
      'url.path': '/api/things/42',
      'http.response.status_code': 200,
      'event.kind': 'event',
      'event.category': ['web'],
      'client.ip': '203.0.113.7',
      'user_agent.original': 'instrument-test/1.0',
      'http.route': '/api/things/:id',
    });
  });

  it('logs an IPv4 client seen on a dual-stack socket as its plain address, and an IPv6 one as it is', async () => {
    expect((await accessLine('/api/things/1', { 'x-forwarded-for': '::ffff:198.51.100.27' }))['client.ip']).toBe('198.51.100.27');
    expect((await accessLine('/api/things/1', { 'x-forwarded-for': '2001:db8::7' }))['client.ip']).toBe('2001:db8::7');
    // Hexadecimal IPv4-mapped notation is an IPv6 address text as far as the log goes.
    expect((await accessLine('/api/things/1', { 'x-forwarded-for': '::ffff:cb00:7146' }))['client.ip']).toBe('::ffff:cb00:7146');
  });

  it('logs a 5xx answer at error level and a 4xx one at info', async () => {
    const broken = await accessLine('/api/things/7/broken');
    expect(broken).toMatchObject({ 'log.level': 'error', message: 'GET /api/things/7/broken 500', 'http.response.status_code': 500 });
    const conflict = await accessLine('/api/things/7/conflict');
    expect(conflict).toMatchObject({ 'log.level': 'info', 'http.response.status_code': 409 });
  });

  it('labels by route template, also when an error left the router, and unmatched when no route claimed it', async () => {
    expect((await accessLine('/api/things/7/broken'))['http.route']).toBe('/api/things/:id/broken');
    expect((await accessLine('/api/things/7/conflict'))['http.route']).toBe('/api/things/:id/conflict');
    expect((await accessLine('/api/things'))['http.route']).toBe('/api/things');
    expect((await accessLine('/'))['http.route']).toBe('/');
    expect((await accessLine('/about/us'))['http.route']).toBe('/about/:topic');
    expect((await accessLine('/healthz'))['http.route']).toBe('/healthz');
    expect((await accessLine('/api/things/7/nothing/here'))['http.route']).toBe('unmatched');
    expect(await requestsTotal({ method: 'GET', route: '/api/things/:id/broken', status_code: '500' })).toBeGreaterThan(0);
    expect(await requestsTotal({ method: 'GET', route: 'unmatched', status_code: '404' })).toBeGreaterThan(0);
  });

  it('measures how long the answer took, in nanoseconds in the log and seconds in the histogram', async () => {
    const line = await accessLine('/api/things/3/pause');
    expect(line['event.duration']).toBeGreaterThanOrEqual(25e6);
    expect(line['event.duration']).toBeLessThan(5e9);
    const histogram = (await metrics.httpRequestDuration.get()).values.filter((v) => v.labels.route === '/api/things/:id/pause');
    const sum = histogram.find((v) => v.metricName === 'http_request_duration_seconds_sum')?.value;
    expect(sum).toBeGreaterThanOrEqual(0.025);
    expect(sum).toBeLessThan(5);
    const count = histogram.find((v) => v.metricName === 'http_request_duration_seconds_count')?.value;
    expect(count).toBe(1);
  });

  it('counts a request in flight until it ends, and logs a client that hung up first as 499 at info', async () => {
    const inFlight = async () => (await metrics.httpRequestsInFlight.get()).values[0]?.value;
    expect(await inFlight()).toBe(0);
    const id = randomUUID();
    const arrived = new Promise<void>((resolve) => (slowArrived = resolve));
    const request = http.get(`${running.url}/api/things/9/slow`, { headers: { 'x-request-id': id } });
    request.on('error', () => undefined);
    await arrived;
    expect(await inFlight()).toBe(1);
    request.destroy();
    const line = await loggedLine(id);
    expect(line).toMatchObject({ 'log.level': 'info', message: 'GET /api/things/9/slow 499', 'http.response.status_code': 499, 'http.route': '/api/things/:id/slow' });
    expect(await inFlight()).toBe(0);
    releaseSlow();
    expect(await requestsTotal({ method: 'GET', route: '/api/things/:id/slow', status_code: '499' })).toBe(1);
  });
});

describe('instrument on its own', () => {
  it("logs a request whose client hung up before anything read the client's address, without the address", async () => {
    // createServiceApp's request id reads the address first; alone, nothing has by the time the socket is gone.
    const logs = memoryLogStream();
    const metrics = createMetrics();
    const app = express();
    app.use(instrument(metrics, createLogger({ service: 'kit', version: '0.0.0', level: 'info', metrics, stream: logs })));
    let arrived: () => void = () => undefined;
    const asked = new Promise<void>((resolve) => (arrived = resolve));
    app.get('/slow', () => arrived());
    const running = await serveOnLoopback(app);
    try {
      const request = http.get(`${running.url}/slow`);
      request.on('error', () => undefined);
      await asked;
      request.destroy();
      for (let tries = 0; tries < 200 && logs.lines.length === 0; tries++) await new Promise((r) => setTimeout(r, 5));
      expect(logs.lines).toEqual([expect.objectContaining({ message: 'GET /slow 499', 'http.route': '/slow' })]);
      expect(logs.lines[0]!['client.ip']).toBeUndefined();
    } finally {
      await running.close();
    }
  });
});
