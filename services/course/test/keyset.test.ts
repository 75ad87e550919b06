import { randomUUID } from 'node:crypto';
import { encodeCursor, type Database, type Db } from '@courseops/kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fillPlaceholders } from 'drizzle-orm';
import { courseCursorList, coursePageParams, courseStatements } from '../src/routes.js';
import type { schema } from '../src/schema.js';
import { drivers, json, startCourseWithDatabase, type RunningCourse } from './harness.js';

/**
 * Keyset pages of the course list (API.md "lists") and the batched `?ids=` lookup, on both drivers:
 * every row exactly once and in order however the pages fall and whatever is inserted meanwhile, bad
 * cursors refused, and a page served by courses_created_at_id_idx at any depth.
 */

interface Listed {
  id: string;
  title: string;
  createdAt: string;
}
const byKey = (a: Listed, b: Listed) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id);

describe.each(drivers)('course list pages on %s', (driver) => {
  let course: RunningCourse;
  let sql: <T>(text: string, params?: unknown[]) => Promise<T[]>;

  beforeAll(async () => {
    ({ course, sql } = await startCourseWithDatabase(driver));
  });
  afterAll(() => course?.stop());

  /** Follows nextCursor from the first page to the last. */
  const walk = async (limit: number, between?: () => Promise<void>) => {
    const listed: Listed[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await course.call(`/api/courses?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      const page = await res.json();
      expect(Object.keys(page).sort()).toEqual(['items', 'nextCursor']);
      expect(page.items.length).toBeLessThanOrEqual(limit);
      listed.push(...page.items);
      cursor = page.nextCursor;
      pages++;
      await between?.();
    } while (cursor);
    return { listed, pages };
  };

  it('returns every row exactly once, in (createdAt, id) order, across page boundaries and timestamp ties', async () => {
    // Twelve rows share one millisecond: only the id orders them, and pages of 5 cut through the tie.
    await sql(
      `insert into courses (id, title, created_at, updated_at)
       select gen_random_uuid(), 'tie ' || g, '2024-01-01T00:00:00.123Z', '2024-01-01T00:00:00.123Z' from generate_series(1, 12) g`,
    );
    for (let i = 0; i < 9; i++) expect((await course.call('/api/courses', { method: 'POST', ...json({ title: `posted ${i}` }) })).status).toBe(201);
    const stored = await sql<{ id: string }>('select id from courses order by created_at, id');

    for (const limit of [1, 5, 20, 100]) {
      const { listed, pages } = await walk(limit);
      expect(listed.map((c) => c.id)).toEqual(stored.map((r) => r.id));
      expect(pages).toBe(Math.max(1, Math.ceil(stored.length / limit)));
    }
    // The last page says so: nextCursor null, even when it is exactly full.
    const exact = await (await course.call(`/api/courses?limit=${stored.length}`)).json();
    expect(exact.nextCursor).toBeNull();
    expect(exact.items).toHaveLength(stored.length);
  });

  it('misses and repeats nothing while rows are inserted during the walk', async () => {
    const before = await sql<{ id: string }>('select id from courses order by created_at, id');
    let inserted = 0;
    const insertSome = async () => {
      // Inserted concurrently with the next page read, not just between reads.
      const posts = Array.from({ length: 3 }, () => course.call('/api/courses', { method: 'POST', ...json({ title: `during ${inserted++}` }) }));
      await Promise.all(posts.map(async (p) => expect((await p).status).toBe(201)));
    };
    let background = Promise.resolve();
    const { listed } = await walk(4, async () => {
      await background;
      background = insertSome();
    });
    await background;

    const ids = listed.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...listed].sort(byKey)).toEqual(listed);
    // Everything that existed before the walk is there (rows inserted during it may or may not be).
    const seen = new Set(ids);
    expect(before.filter((r) => !seen.has(r.id))).toEqual([]);
    expect(inserted).toBeGreaterThan(0);
  });

  it.each([
    ['a tampered cursor', (c: string) => `${c.slice(0, 4)}${c[4] === 'A' ? 'B' : 'A'}${c.slice(5)}`],
    ['a truncated cursor', (c: string) => c.slice(0, -3)],
    ["another list's cursor", () => encodeCursor({ list: 'teachers' }, { at: new Date(), id: randomUUID() })],
    ["a teacher's course-list cursor", () => encodeCursor({ list: 'teacher_courses', scope: randomUUID() }, { at: new Date(), id: randomUUID() })],
    ['garbage', () => 'not-a-cursor'],
    ['an overlong cursor', () => `${'a'.repeat(300)}.b`],
    ['a cursor given twice', (c: string) => `${c}&cursor=${c}`],
  ])('refuses %s with 400 validation_failed at query.cursor', async (_name, spoil) => {
    const first = await (await course.call('/api/courses?limit=1')).json();
    expect(first.nextCursor).toEqual(expect.any(String));
    const res = await course.call(`/api/courses?limit=1&cursor=${spoil(first.nextCursor)}`);
    expect(res.status).toBe(400);
    const { error } = await res.json();
    expect(error.code).toBe('validation_failed');
    expect(error.details.map((d: { path: string }) => d.path)).toContain('query.cursor');
  });

  describe('?ids=', () => {
    let a: Listed, b: Listed, c: Listed;
    beforeAll(async () => {
      [a, b, c] = await Promise.all(['ids a', 'ids b', 'ids c'].map(async (title) => (await course.call('/api/courses', { method: 'POST', ...json({ title }) })).json()));
    });

    it('answers the courses that exist, in the order asked, a repeated id once', async () => {
      const gone = randomUUID();
      const res = await course.call(`/api/courses?ids=${[c.id, gone, a.id, c.id.toUpperCase(), b.id].join(',')}`);
      expect(res.status).toBe(200);
      const body = await res.json();
      expect(body).toEqual({ items: [c, a, b].map((x) => expect.objectContaining({ id: x.id, title: x.title })) });
      expect(await (await course.call(`/api/courses/${a.id}`)).json()).toEqual(body.items[1]);
      expect(await (await course.call(`/api/courses?ids=${gone}`)).json()).toEqual({ items: [] });
    });

    it('takes 100 ids and refuses 101', async () => {
      const hundred = [a.id, ...Array.from({ length: 99 }, () => randomUUID())];
      const ok = await course.call(`/api/courses?ids=${hundred.join(',')}`);
      expect(ok.status).toBe(200);
      expect((await ok.json()).items.map((x: Listed) => x.id)).toEqual([a.id]);
      const tooMany = await course.call(`/api/courses?ids=${[...hundred, randomUUID()].join(',')}`);
      expect(tooMany.status).toBe(400);
      expect((await tooMany.json()).error.details.map((d: { path: string }) => d.path)).toContain('query.ids');
    });

    it.each([
      ['an empty list', 'ids=', 'query.ids.0'],
      ['an id that is not a UUID', 'ids=IDA,IDB', 'query.ids.0'],
      ['an empty entry', 'ids=A,,B', 'query.ids.1'],
      ['ids given twice', 'ids=A&ids=B', 'query.ids'],
      ['ids with a limit', 'ids=A&limit=5', 'query.limit'],
      ['ids with a cursor', 'ids=A&cursor=x.y', 'query.cursor'],
    ])('refuses %s with 400 validation_failed', async (_name, query, path) => {
      const res = await course.call(`/api/courses?${query.replaceAll('A', a.id).replaceAll('B', b.id)}`);
      expect(res.status).toBe(400);
      const { error } = await res.json();
      expect(error.code).toBe('validation_failed');
      expect(error.details.map((d: { path: string }) => d.path)).toContain(path);
    });
  });
});

/** Every node of an EXPLAIN (FORMAT JSON) plan. */
interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Actual Rows'?: number;
  Plans?: PlanNode[];
}
const nodes = (plan: PlanNode): PlanNode[] => [plan, ...(plan.Plans ?? []).flatMap(nodes)];

describe.each(drivers)('course list query plan on %s', (driver) => {
  const rows = 50_000;
  let course: RunningCourse;
  let database: Database<Record<string, unknown>>;
  let sql: <T>(text: string, params?: unknown[]) => Promise<T[]>;

  beforeAll(async () => {
    ({ course, database, sql } = await startCourseWithDatabase(driver));
    await sql(
      `insert into courses (id, title, created_at, updated_at)
       select gen_random_uuid(), 'seeded ' || g, t, t
       from generate_series(1, ${rows}) g cross join lateral (select timestamptz '2020-01-01' + g * interval '1 second' as t) s`,
    );
    await sql('analyze courses');
  }, 120_000);
  afterAll(() => course?.stop());

  /** The plan of the exact statement the list route runs (its SQL and parameters), executed. */
  const planOf = async (after: { at: Date; id: string } | undefined) => {
    const statements = courseStatements(database.db as unknown as Db<typeof schema>);
    const { sql: text, params } = (after ? statements.pageAfter : statements.firstPage).getQuery();
    const values = fillPlaceholders(params, coursePageParams(20, after));
    const [row] = await sql<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(`explain (analyze, format json) ${text}`, values);
    return nodes(row!['QUERY PLAN'][0].Plan);
  };

  it.each([
    ['the first page', 0],
    ['a page at 90 % depth', Math.floor(rows * 0.9)],
    ['the last page', rows - 10],
  ])('serves %s from courses_created_at_id_idx, reading only the page, with no Seq Scan and no Sort', async (_name, depth) => {
    const after =
      depth === 0
        ? undefined
        : await sql<{ id: string; created_at: Date }>('select id, created_at from courses order by created_at, id offset $1 limit 1', [depth]).then(
            ([r]) => ({ at: new Date(r!.created_at), id: r!.id }),
          );
    const plan = await planOf(after);
    const types = plan.map((n) => n['Node Type']);
    expect(types).not.toContain('Seq Scan');
    expect(types).not.toContain('Sort');
    const scan = plan.find((n) => n['Node Type'] === 'Index Scan' || n['Node Type'] === 'Index Only Scan');
    expect(scan, JSON.stringify(plan)).toMatchObject({ 'Index Name': 'courses_created_at_id_idx' });
    // limit + 1 rows at most, however deep: the cost does not grow with the depth or the table.
    expect(scan!['Actual Rows']).toBeLessThanOrEqual(21);
  });

  it('answers a deep page through the API with the rows after the cursor', async () => {
    const [r] = await sql<{ id: string; created_at: Date }>('select id, created_at from courses order by created_at, id offset $1 limit 1', [rows - 3]);
    const cursor = encodeCursor(courseCursorList, { at: new Date(r!.created_at), id: r!.id });
    const page = await (await course.call(`/api/courses?limit=5&cursor=${cursor}`)).json();
    expect(page.items.map((c: Listed) => c.title)).toEqual([`seeded ${rows - 1}`, `seeded ${rows}`]);
    expect(page.nextCursor).toBeNull();
  });
});
