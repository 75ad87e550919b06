import { commonEnvSchema, readEnv } from '@courseops/kit';
import { testFetch } from '@courseops/kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, startCourse, type RunningCourse } from './harness.js';

describe('FAULT_RATE (the canary demo switch)', () => {
  let course: RunningCourse;
  const call = (path: string, init: RequestInit = {}) => testFetch(`${course.url}${path}`, init);

  beforeAll(async () => {
    // Not one half: a quarter tells "that share fail" from "that share succeed".
    course = await startCourse('pglite', { faultRate: 0.25, logLevel: 'info' });
  });
  afterAll(() => course.stop());

  it('fails about that share of API requests with a JSON 500, and writes nothing for them', async () => {
    const answers = await Promise.all(
      Array.from({ length: 200 }, () => call('/api/courses', { method: 'POST', ...json({ title: 'Faulty 101' }) })),
    );
    const failed = answers.filter((r) => r.status === 500);
    const created = answers.filter((r) => r.status === 201);
    expect(failed.length + created.length).toBe(200);
    // Binomial(200, 0.25): outside 16..89 has a probability below 1e-9 (the opposite share, 0.75, would give about 150).
    expect(failed.length).toBeGreaterThan(15);
    expect(failed.length).toBeLessThan(90);
    const body = await failed[0]!.json();
    expect(body).toEqual({ error: { code: 'internal', message: 'injected fault (FAULT_RATE)', requestId: failed[0]!.headers.get('x-request-id') } });

    // Only acknowledged creates exist: walk the list, reading each page again until it answers (it may be a fault too).
    const listed: { id: string }[] = [];
    let cursor: string | null = '';
    for (let tries = 0; cursor !== null && tries < 200; tries++) {
      const res = await call(`/api/courses?limit=100${cursor ? `&cursor=${cursor}` : ''}`);
      if (res.status !== 200) continue;
      const page = await res.json();
      listed.push(...page.items);
      cursor = page.nextCursor;
    }
    expect(cursor).toBeNull();
    expect(listed.map((c) => c.id).sort()).toEqual((await Promise.all(created.map((r) => r.json()))).map((c) => c.id).sort());
  });

  it('never fails health, readiness or metrics, and counts the injected 500s', async () => {
    for (let i = 0; i < 30; i++) {
      expect((await call('/healthz')).status).toBe(200);
      expect((await call('/readyz')).status).toBe(200);
      expect((await call('/metrics')).status).toBe(200);
    }
    const metrics = await (await call('/metrics')).text();
    expect(metrics).toMatch(/http_requests_total\{method="POST",route="unmatched",status_code="500"\} [1-9]/);
    expect(course.logs.lines.some((l) => l['log.level'] === 'warn' && String(l.message).startsWith('FAULT_RATE=0.25'))).toBe(true);
  });

  it('reads FAULT_RATE from the environment: 0 by default, a share between 0 and 1, anything else refused', () => {
    expect(readEnv(commonEnvSchema, {}).FAULT_RATE).toBe(0);
    expect(readEnv(commonEnvSchema, { FAULT_RATE: '0.2' }).FAULT_RATE).toBe(0.2);
    expect(() => readEnv(commonEnvSchema, { FAULT_RATE: '1.5' })).toThrow(/FAULT_RATE/);
    expect(() => readEnv(commonEnvSchema, { FAULT_RATE: 'lots' })).toThrow(/FAULT_RATE/);
  });
});
