import { Database } from '@courseops/kit';
import { checkErrorContract, testFetch, type RouteTemplate } from '@courseops/kit/testing';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { drivers, json, startCourse, type RunningCourse } from './harness.js';

/**
 * Property tests of the course service on both drivers: malformed requests of every kind to every
 * endpoint never get a 5xx or a non-JSON error and never change the stored courses; valid input on the
 * edges of the limits is accepted and stored and read back unchanged.
 */

const sample = { title: 'Distributed systems', description: 'consensus, clocks, failure', credits: 6 };
const routes: RouteTemplate[] = [
  { method: 'GET', path: '/api/courses' },
  { method: 'GET', path: '/api/courses/:id' },
  { method: 'POST', path: '/api/courses', body: sample },
  { method: 'PUT', path: '/api/courses/:id', body: sample },
  { method: 'DELETE', path: '/api/courses/:id' },
  { method: 'GET', path: '/healthz' },
  { method: 'GET', path: '/readyz' },
  { method: 'GET', path: '/metrics' },
  // Paths no route claims.
  { method: 'GET', path: '/:id' },
  { method: 'POST', path: '/api/:id', body: sample },
];

interface StoredCourse {
  id: string;
  title: string;
  description: string;
  credits: number;
}

describe.each(drivers)('course service properties on %s', (driver) => {
  let course: RunningCourse;
  /** The service's own database handle: the state is read where the service keeps it, on either driver. */
  let database: Database<Record<string, unknown>>;
  const sql = async <T>(text: string, params: unknown[] = []): Promise<T[]> =>
    ((await database.db.$client.query(text, params)) as { rows: T[] }).rows;

  /** Row count and a checksum of every column of every row. */
  const snapshot = async () => {
    const [state] = await sql<{ n: number; checksum: string }>(
      `select count(*)::int as n, coalesce(md5(string_agg(c::text, '|' order by c.id)), '') as checksum from courses c`,
    );
    return state;
  };
  const create = async (body: unknown) => {
    const res = await testFetch(`${course.url}/api/courses`, { method: 'POST', ...json(body) });
    expect(res.status).toBe(201);
    return res.json();
  };
  /** Existing ids for the fuzzer to aim at; topped up when fuzzed DELETEs have used them up. */
  const ids = async () => {
    let rows = await sql<{ id: string }>('select id from courses order by created_at, id');
    if (rows.length < 3) {
      for (let i = 0; i < 3; i++) await create({ ...sample, title: `seed ${i}` });
      rows = await sql<{ id: string }>('select id from courses order by created_at, id');
    }
    return rows.map((r) => r.id);
  };

  beforeAll(async () => {
    const open = vi.spyOn(Database, 'open');
    try {
      course = await startCourse(driver);
      database = (await open.mock.results[0]!.value) as Database<Record<string, unknown>>;
    } finally {
      open.mockRestore();
    }
    expect(database.kind).toBe(driver);
    for (let i = 0; i < 5; i++) await create({ ...sample, title: `course ${i}` });
  });
  afterAll(() => course?.stop());

  it.each(routes.map((r) => [`${r.method} ${r.path}`, r] as const))(
    'answers malformed requests to %s without a 5xx, with JSON errors, and leaves the courses unchanged',
    async (_name, route) => {
      const statuses = await checkErrorContract({ baseUrl: () => course.url, routes: [route], ids, snapshot, queryKeys: ['limit', 'cursor', 'ids'] });
      // The fuzzer reached past the front door: more than one kind of answer came back.
      expect(statuses.size, JSON.stringify([...statuses])).toBeGreaterThan(1);
    },
  );

  it('detects a rejected request that changes state (the snapshot is not blind)', async () => {
    const before = await snapshot();
    const [row] = await sql<{ id: string }>('select id from courses limit 1');
    await sql(`update courses set title = title || '!' where id = $1`, [row!.id]);
    expect(await snapshot()).not.toEqual(before);
  });

  /** What the contract calls valid text, written out independently of the service's validator. */
  const isValidText = (s: string, min: number, max: number) =>
    s.length >= min && s.length <= max && !s.includes('\u0000') && s.isWellFormed() && (min === 0 || s.trim().length > 0);

  const expectStoredAsSent = async (sent: { title: string; description?: string; credits?: number }, answered: StoredCourse) => {
    const expected = { title: sent.title, description: sent.description ?? '', credits: sent.credits ?? 0 };
    expect(answered).toMatchObject(expected);
    const fetched = await testFetch(`${course.url}/api/courses/${answered.id}`);
    expect(fetched.status).toBe(200);
    expect(await fetched.json()).toEqual(answered);
    const [row] = await sql<StoredCourse>('select id, title, description, credits from courses where id = $1', [answered.id]);
    expect(row).toEqual({ id: answered.id, ...expected });
  };

  it.each([
    ['a title of exactly 200 characters', { title: 't'.repeat(200) }],
    ['a title of 100 emoji (200 UTF-16 code units)', { title: '\u{1F680}'.repeat(100) }],
    ['emoji sequences, combining marks and right-to-left text', { title: '👩‍👩‍👧‍👦 é 🇫🇷 שלום مرحبا', description: 'Z͑ͫ̓ͪ̂ͫ̽͏̴̙̤̞͉͚̯̞̠͍' }],
    ['credits 0', { title: 'zero', credits: 0 }],
    ['credits 30', { title: 'thirty', credits: 30 }],
    ['a description of exactly 2000 characters', { title: 'long', description: 'd'.repeat(2000) }],
    ['an empty description', { title: 'empty', description: '' }],
    ['surrounding and inner whitespace, kept as sent', { title: '  spaced\ttitle\u2028 ', description: '\n\n' }],
    ['a single character title', { title: 'x' }],
    ['characters JSON must escape', { title: '"quoted" \\ back\u0001slash', description: '</script><script>' }],
  ])('accepts %s and reads it back identical', async (_name, body) => {
    const res = await testFetch(`${course.url}/api/courses`, { method: 'POST', ...json(body) });
    expect(res.status).toBe(201);
    await expectStoredAsSent(body, await res.json());
  });

  it('accepts any valid course, on create and on update, and stores it exactly as sent', async () => {
    const title = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 200 }).filter((s) => isValidText(s, 1, 200));
    const description = fc.string({ unit: 'grapheme', maxLength: 400 }).filter((s) => isValidText(s, 0, 2000));
    const input = fc.record(
      { title, description, credits: fc.integer({ min: 0, max: 30 }) },
      { requiredKeys: ['title'] },
    );
    const [target] = await ids();
    await fc.assert(
      fc.asyncProperty(input, input, async (created, updated) => {
        const res = await testFetch(`${course.url}/api/courses`, { method: 'POST', ...json(created) });
        expect(res.status, JSON.stringify(created)).toBe(201);
        await expectStoredAsSent(created, await res.json());
        const put = await testFetch(`${course.url}/api/courses/${target}`, { method: 'PUT', ...json(updated) });
        expect(put.status, JSON.stringify(updated)).toBe(200);
        await expectStoredAsSent(updated, await put.json());
      }),
      { numRuns: 100 },
    );
  });

  it('lists everything that was stored, each exactly as stored', async () => {
    const stored = await sql<StoredCourse & { created_at: Date }>('select id, title, description, credits, created_at from courses order by created_at, id');
    const listed: StoredCourse[] = [];
    for (let cursor = ''; ; ) {
      const page = await (await testFetch(`${course.url}/api/courses?limit=100${cursor}`)).json();
      listed.push(...page.items);
      if (page.nextCursor === null) break;
      cursor = `&cursor=${page.nextCursor}`;
    }
    expect(listed.map(({ id, title, description, credits }) => ({ id, title, description, credits }))).toEqual(
      stored.map(({ id, title, description, credits }) => ({ id, title, description, credits })),
    );
  });
});
