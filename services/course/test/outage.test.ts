import { memoryLogStream } from '@courseops/kit';
import { createTestDatabase, TcpProxy, testFetch, type TestResponse } from '@courseops/kit/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { json, startCourse, type RunningCourse } from './harness.js';

/**
 * The course service on real PostgreSQL behind a TCP proxy that the tests cut and restore: the network
 * failure a pod sees when its database goes away (open connections reset, new ones refused).
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `check` holds, returning how long it took; fails after `withinMs`. */
async function eventually(check: () => Promise<boolean>, withinMs: number, what: string): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await check().catch(() => false)) return Date.now() - start;
    if (Date.now() - start > withinMs) throw new Error(`${what}: not within ${withinMs} ms`);
    await sleep(50);
  }
}

async function proxiedDatabase(prefix: string) {
  const directUrl = await createTestDatabase(inject('postgresUrl'), prefix);
  const { hostname, port } = new URL(directUrl);
  const proxy = await TcpProxy.start({ host: hostname, port: Number(port) });
  return { directUrl, proxy, serviceUrl: proxy.wrap(directUrl) };
}

/** Rows as PostgreSQL has them, read past the proxy. */
async function storedCourses(directUrl: string): Promise<Map<string, string>> {
  const client = new pg.Client({ connectionString: directUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ id: string; title: string }>('select id, title from courses');
    return new Map(rows.map((r) => [r.id, r.title]));
  } finally {
    await client.end();
  }
}

async function expectDependencyUnavailable(res: TestResponse, what: string) {
  expect(res.status, what).toBe(503);
  expect(res.headers.get('content-type'), what).toMatch(/^application\/json/);
  const { error } = await res.json();
  expect(error, what).toMatchObject({ code: 'dependency_unavailable', message: expect.any(String) });
  expect(error.requestId, what).toBe(res.headers.get('x-request-id'));
}

describe('course service when PostgreSQL goes away', () => {
  let db: Awaited<ReturnType<typeof proxiedDatabase>>;
  let course: RunningCourse;
  const call = (path: string, init: RequestInit = {}) => testFetch(`${course.url}${path}`, init);

  beforeAll(async () => {
    db = await proxiedDatabase('course_outage');
    course = await startCourse('postgres', { databaseUrl: db.serviceUrl });
  });
  afterAll(async () => {
    await course?.stop();
    await db?.proxy.cut();
  });

  it('answers 503 dependency_unavailable while the database is cut, stays alive, and recovers by itself', async () => {
    const existing = await (await call('/api/courses', { method: 'POST', ...json({ title: 'before the outage' }) })).json();
    expect((await call('/readyz')).status).toBe(200);

    await db.proxy.cut();

    const ready = await call('/readyz');
    expect(ready.status).toBe(503);
    const report = await ready.json();
    expect(report.status).toBe('not_ready');
    expect(report.checks.database).toMatchObject({ status: 'down', error: expect.any(String) });

    const requests: [string, string, RequestInit?][] = [
      ['list', '/api/courses'],
      ['get', `/api/courses/${existing.id}`],
      ['create', '/api/courses', { method: 'POST', ...json({ title: 'during the outage' }) }],
      ['update', `/api/courses/${existing.id}`, { method: 'PUT', ...json({ title: 'changed during the outage' }) }],
      ['delete', `/api/courses/${existing.id}`, { method: 'DELETE' }],
    ];
    for (const [what, path, init] of requests) {
      const started = Date.now();
      await expectDependencyUnavailable(await call(path, init), what);
      // Refused connections fail fast: no waiting for a query timeout.
      expect(Date.now() - started, what).toBeLessThan(4000);
    }
    // Validation still happens first: a bad request is the client's fault, database or not.
    expect((await call('/api/courses', { method: 'POST', ...json({ title: '' }) })).status).toBe(400);
    // Liveness never checks dependencies: the pod must not be restarted for its database's outage.
    expect((await call('/healthz')).status).toBe(200);
    expect((await call('/metrics')).status).toBe(200);

    await db.proxy.restore();
    const recoveredInMs = await eventually(async () => (await call('/readyz')).status === 200, 8000, 'readyz back to 200');
    expect(recoveredInMs).toBeLessThan(8000);
    const created = await call('/api/courses', { method: 'POST', ...json({ title: 'after the outage' }) });
    expect(created.status).toBe(201);
    const again = await call(`/api/courses/${existing.id}`);
    expect(again.status).toBe(200);
    // Nothing the 503s refused was written.
    expect(await again.json()).toMatchObject({ title: 'before the outage' });
    const stored = await storedCourses(db.directUrl);
    expect([...stored.values()]).not.toContain('during the outage');

    // The outage was logged as what it is (a warning per refused request), never as an unhandled error.
    expect(course.logs.lines.some((l) => l.message === 'database unavailable' && l['log.level'] === 'warn')).toBe(true);
    expect(course.logs.lines.filter((l) => l.message === 'unhandled error')).toEqual([]);
  });

  it('loses no acknowledged write across a cut and a restore, and answers nothing but 201 or 503', async () => {
    const acknowledged = new Map<string, string>();
    const statuses = new Map<number, number>();
    const failures: string[] = [];
    let stop = false;
    let n = 0;
    const writer = async (w: number) => {
      while (!stop) {
        const title = `writer ${w} #${n++}`;
        try {
          const res = await call('/api/courses', { method: 'POST', ...json({ title }) });
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          const body = await res.json();
          if (res.status === 201) acknowledged.set(body.id, title);
          else if (res.status === 503) expect(body.error.code).toBe('dependency_unavailable');
          else failures.push(`${res.status} ${JSON.stringify(body)}`);
        } catch (err) {
          failures.push(`request failed: ${String(err)}`);
        }
      }
    };
    const writers = Array.from({ length: 8 }, (_, w) => writer(w));
    await sleep(400);
    const beforeCut = acknowledged.size;
    await db.proxy.cut();
    await sleep(1000);
    await db.proxy.restore();
    await eventually(async () => (await call('/readyz')).status === 200, 8000, 'readyz back to 200');
    const afterRestore = acknowledged.size;
    await sleep(500);
    stop = true;
    await Promise.all(writers);

    expect(failures).toEqual([]);
    expect([...statuses.keys()].sort()).toEqual([201, 503]);
    expect(beforeCut).toBeGreaterThan(0);
    expect(acknowledged.size).toBeGreaterThan(afterRestore);

    const stored = await storedCourses(db.directUrl);
    const lost = [...acknowledged].filter(([id, title]) => stored.get(id) !== title);
    expect(lost).toEqual([]);
  });

  it('keeps retrying at start while the database is unreachable, and becomes ready once it appears', async () => {
    const late = await proxiedDatabase('course_late');
    await late.proxy.cut();
    const logs = memoryLogStream();
    let settled = false;
    const starting = startCourse('postgres', { databaseUrl: late.serviceUrl, logStream: logs }).finally(() => (settled = true));
    try {
      await sleep(1500);
      expect(settled).toBe(false);
      expect(logs.lines.filter((l) => l.message === 'database not reachable yet, retrying').length).toBeGreaterThanOrEqual(2);

      await late.proxy.restore();
      const restoredAt = Date.now();
      const started = await starting;
      try {
        // The retry back-off is 250 ms doubling to 5 s: the next attempt after 1.5 s comes within ~2 s.
        expect(Date.now() - restoredAt).toBeLessThan(6000);
        const ready = await testFetch(`${started.url}/readyz`);
        expect(ready.status).toBe(200);
        expect(logs.lines.some((l) => l.message === 'database ready')).toBe(true);
        // Migrated: the table is there and takes writes.
        const created = await testFetch(`${started.url}/api/courses`, { method: 'POST', ...json({ title: 'late start' }) });
        expect(created.status).toBe(201);
      } finally {
        await started.stop();
      }
    } finally {
      await starting.catch(() => undefined);
      await late.proxy.cut();
    }
  });
});
