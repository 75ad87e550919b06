import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probe, softChecksDown } from '../src/probe.js';
import { closedTarget, fakeTarget, type FakeTarget } from './targets.js';

const options = { degradedLatencyMs: 150, timeoutMs: 600 };

describe('probe', () => {
  const fakes: FakeTarget[] = [];
  const start = async (...args: Parameters<typeof fakeTarget>) => {
    const fake = await fakeTarget(...args);
    fakes.push(fake);
    return fake;
  };
  let healthy: FakeTarget, soft: FakeTarget, slow: FakeTarget, unavailable: FakeTarget, hanging: FakeTarget, redirecting: FakeTarget;

  beforeAll(async () => {
    healthy = await start('healthy');
    soft = await start('soft', { softDown: true });
    slow = await start('slow', { delayMs: 300 });
    unavailable = await start('unavailable', { status: 503 });
    hanging = await start('hanging', { hang: true });
    redirecting = await start('redirecting', { status: 302 });
  });
  afterAll(() => Promise.all(fakes.map((f) => f.close())));

  it('finds a fast 200 operational', async () => {
    const result = await probe(healthy.target, options);
    expect(result).toMatchObject({ status: 'operational', httpStatus: 200, error: null });
    expect(result.latencyMs).toBeLessThan(options.degradedLatencyMs);
    expect(healthy.lastRequestId).toMatch(/^probe-[0-9a-f-]{36}$/);
  });

  it('finds a 200 with a soft check down degraded, naming the check', async () => {
    expect(await probe(soft.target, options)).toMatchObject({ status: 'degraded', httpStatus: 200, error: 'soft dependency down: course' });
  });

  it('finds a slow 200 degraded', async () => {
    const result = await probe(slow.target, options);
    expect(result).toMatchObject({ status: 'degraded', httpStatus: 200 });
    expect(result.latencyMs).toBeGreaterThanOrEqual(300);
  });

  it('finds a 503, a redirect, a refused connection and a timeout down', async () => {
    expect(await probe(unavailable.target, options)).toMatchObject({ status: 'down', httpStatus: 503, error: 'readiness answered 503' });
    expect(await probe(redirecting.target, options)).toMatchObject({ status: 'down', httpStatus: 302 });
    expect(await probe(await closedTarget('closed'), options)).toMatchObject({ status: 'down', httpStatus: null, error: expect.stringMatching(/ECONNREFUSED/) });
    const timedOut = await probe(hanging.target, options);
    expect(timedOut).toMatchObject({ status: 'down', httpStatus: null, error: 'no answer within 600 ms' });
    expect(timedOut.latencyMs).toBeGreaterThanOrEqual(590);
    expect(timedOut.latencyMs).toBeLessThan(2000);
  });

  it('probes <url>/readyz also under a path prefix', async () => {
    // A base URL with a path: the probe must append /readyz to it, which the fake does not serve.
    expect(await probe({ name: 'prefixed', url: `${healthy.url}/course` }, options)).toMatchObject({ status: 'down', httpStatus: 404 });
  });
});

describe('softChecksDown', () => {
  it.each([
    ['no body', '', []],
    ['not JSON', '<html>', []],
    ['null', 'null', []],
    ['no checks', '{"status":"ready"}', []],
    ['checks not an object', '{"checks":3}', []],
    ['hard check down only', '{"checks":{"db":{"status":"down"}}}', []],
    ['soft check up', '{"checks":{"course":{"status":"up","soft":true}}}', []],
    ['soft "true" as a string', '{"checks":{"course":{"status":"down","soft":"true"}}}', []],
    ['two soft checks down', '{"checks":{"a":{"status":"down","soft":true},"b":null,"c":{"status":"down","soft":true}}}', ['a', 'c']],
  ])('%s', (_name, body, expected) => {
    expect(softChecksDown(body)).toEqual(expected);
  });
});
