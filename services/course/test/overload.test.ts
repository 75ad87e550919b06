import { createTestDatabase, TcpProxy, testFetch, type TestResponse } from '@courseops/kit/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { json, startCourse, type RunningCourse } from './harness.js';

/**
 * The course service on real PostgreSQL, saturated for real: a table lock held by another session makes
 * every course query wait, so the small pool fills and statements run into DB_STATEMENT_TIMEOUT_MS. That is
 * overload (`503 overloaded`, retry later), not an outage; readiness, on its own connection, stays 200.
 *
 * PostgreSQL only: PGlite is one in-process connection with no pool to saturate and no statement timeout
 * (see `Database`), so neither answer it is about can happen there.
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const poolSize = 4;
const clients = 4 * poolSize;
// Short enough to shed within the test, long enough that a new connection (SCRAM auth included) connects
// in time on a machine busy with the other test files.
const overloadSettings = { dbPoolSize: poolSize, dbStatementTimeoutMs: 500, dbPoolWaitMs: 1000 };

/** Rows as PostgreSQL has them, read on a connection of the test's own. */
async function storedTitles(databaseUrl: string, prefix: string): Promise<Map<string, string>> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ id: string; title: string }>('select id, title from courses where title like $1', [`${prefix}%`]);
    return new Map(rows.map((r) => [r.id, r.title]));
  } finally {
    await client.end();
  }
}

/** Another session holding `courses` exclusively: every course query waits behind it until `release`. */
async function lockCourses(databaseUrl: string) {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  await client.query('begin');
  await client.query('lock table courses in access exclusive mode');
  return {
    release: async () => {
      await client.query('commit');
      await client.end();
    },
  };
}

/** Polls /readyz until stopped, keeping every status it saw. */
function pollReadiness(call: (path: string) => Promise<TestResponse>) {
  const seen: number[] = [];
  let stop = false;
  const done = (async () => {
    while (!stop) {
      const res = await call('/readyz');
      seen.push(res.status);
      await res.body?.cancel();
      await sleep(50);
    }
  })();
  return {
    stop: async () => {
      stop = true;
      await done;
      return seen;
    },
  };
}

/** An answer that is neither a 2xx nor `503 overloaded` with Retry-After, as a line for the failure list. */
function unexpected(res: TestResponse, body: { error?: { code?: string; requestId?: string } } | undefined, what: string): string | undefined {
  if (res.status >= 200 && res.status < 300) return undefined;
  const retryAfter = res.headers.get('retry-after');
  const overloaded = res.status === 503 && body?.error?.code === 'overloaded' && body.error.requestId === res.headers.get('x-request-id');
  if (overloaded && /^[1-9][0-9]*$/.test(retryAfter ?? '')) return undefined;
  return `${what}: ${res.status} retry-after=${retryAfter} ${JSON.stringify(body)}`;
}

describe('course service when PostgreSQL is saturated', () => {
  let course: RunningCourse;

  beforeAll(async () => {
    course = await startCourse('postgres', overloadSettings);
  });
  afterAll(async () => {
    await course?.stop();
  });

  it(`sheds ${clients} clients on a pool of ${poolSize} with 503 overloaded, stays ready, and loses nothing acknowledged`, async () => {
    const prefix = 'overload ';
    const seeded: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await course.call('/api/courses', { method: 'POST', ...json({ title: `seed ${i}` }) });
      expect(res.status).toBe(201);
      seeded.push((await res.json()).id);
    }

    const acknowledged = new Map<string, string>();
    const failures: string[] = [];
    const codes = new Map<string, number>();
    let stop = false;
    let n = 0;
    const client = async (c: number) => {
      for (let i = 0; !stop; i++) {
        const kind = (c + i) % 3;
        try {
          if (kind === 0) {
            const title = `${prefix}${c}-${n++}`;
            const res = await course.call('/api/courses', { method: 'POST', ...json({ title }) });
            const body = await res.json().catch(() => undefined);
            const problem = unexpected(res, body, 'POST');
            if (problem) failures.push(problem);
            else if (res.status === 201) acknowledged.set(body.id, title);
            codes.set(`POST ${res.status}`, (codes.get(`POST ${res.status}`) ?? 0) + 1);
          } else {
            const path = kind === 1 ? '/api/courses' : `/api/courses/${seeded[i % seeded.length]}`;
            const res = await course.call(path);
            const problem = unexpected(res, await res.json().catch(() => undefined), `GET ${path}`);
            if (problem) failures.push(problem);
            codes.set(`GET ${res.status}`, (codes.get(`GET ${res.status}`) ?? 0) + 1);
          }
        } catch (err) {
          failures.push(`request failed: ${String(err)}`);
        }
      }
    };

    const readiness = pollReadiness(course.call);
    const running = Array.from({ length: clients }, (_, c) => client(c));
    await sleep(300);
    const lock = await lockCourses(course.databaseUrl!);
    await sleep(3000);
    await lock.release();
    const ackedAtRelease = acknowledged.size;
    await sleep(1000);
    stop = true;
    await Promise.all(running);
    const readyStatuses = await readiness.stop();

    expect(failures).toEqual([]);
    // It was overload for real, through both doors: statements cancelled and pool waits that timed out.
    expect(codes.get('POST 503') ?? 0).toBeGreaterThan(0);
    expect(codes.get('GET 503') ?? 0).toBeGreaterThan(0);
    const shed = course.logs.lines.filter((l) => l['log.level'] === 'warn').map((l) => l.message);
    expect(shed).toContain('database busy: statement timed out');
    expect(shed).toContain('database busy: no connection free in time');
    expect(shed).not.toContain('database unavailable');
    // And it recovered once the lock went.
    expect(acknowledged.size).toBeGreaterThan(ackedAtRelease);

    expect(readyStatuses.filter((s) => s !== 200)).toEqual([]);
    expect(readyStatuses.length).toBeGreaterThan(20);

    // Every 201 is stored as acknowledged, and nothing else is: a 503 overloaded POST stored nothing (the
    // statement was cancelled and rolled back, or never sent).
    const stored = await storedTitles(course.databaseUrl!, prefix);
    expect([...stored].sort()).toEqual([...acknowledged].sort());
  });
});

describe('course service when PostgreSQL is black-holed under load', () => {
  let course: RunningCourse;
  let proxy: TcpProxy;

  beforeAll(async () => {
    const directUrl = await createTestDatabase(inject('postgresUrl'), 'course_black_hole');
    const { hostname, port } = new URL(directUrl);
    proxy = await TcpProxy.start({ host: hostname, port: Number(port) });
    course = await startCourse('postgres', { ...overloadSettings, databaseUrl: proxy.wrap(directUrl) });
  });
  afterAll(async () => {
    await course?.stop();
    await proxy?.cut();
  });

  it('reports an outage, not overload, once the database has answered nothing for a while, and recovers', async () => {
    expect((await course.call('/api/courses', { method: 'POST', ...json({ title: 'before' }) })).status).toBe(201);
    const answers: { at: number; code: string }[] = [];
    const failures: string[] = [];
    let stop = false;
    const client = async () => {
      while (!stop) {
        try {
          const res = await course.call('/api/courses');
          const body = await res.json();
          answers.push({ at: Date.now(), code: res.status === 200 ? 'ok' : body?.error?.code });
          if (res.status !== 200) {
            const problem = res.status === 503 && ['overloaded', 'dependency_unavailable'].includes(body?.error?.code) ? undefined : `${res.status} ${JSON.stringify(body)}`;
            if (problem) failures.push(problem);
          }
        } catch (err) {
          failures.push(`request failed: ${String(err)}`);
        }
      }
    };

    const running = Array.from({ length: clients }, () => client());
    await sleep(200);
    await proxy.blackHole();
    const holedAt = Date.now();
    await sleep(6000);
    const ready = await course.call('/readyz');
    stop = true;
    await Promise.all(running);

    expect(failures).toEqual([]);
    // A queue that fills because the database stopped answering is overload only for a moment (the
    // statement timeout + pool wait, 1.5 s here, then a pool wait and a failed probe of up to 1.5 s each);
    // after that it is an outage.
    const late = answers.filter((a) => a.at > holedAt + 4000);
    expect(late.length).toBeGreaterThan(0);
    expect(late.filter((a) => a.code !== 'dependency_unavailable')).toEqual([]);
    expect(ready.status).toBe(503);

    await proxy.restore();
    const deadline = Date.now() + 10_000;
    while ((await course.call('/readyz')).status !== 200) {
      expect(Date.now()).toBeLessThan(deadline);
      await sleep(100);
    }
    expect((await course.call('/api/courses', { method: 'POST', ...json({ title: 'after' }) })).status).toBe(201);
  });
});
