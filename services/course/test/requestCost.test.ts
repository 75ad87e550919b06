import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drivers, json, startCourse, type RunningCourse } from './harness.js';

/**
 * Work the course service leaves out of every request (see the benchmark, `npm run bench`), without
 * changing an answer: no ETag hashed from each body (kit app.ts), and the hot routes' statements built
 * once (routes.ts `courseStatements`), which must answer as before on both drivers.
 */
describe.each(drivers)('per-request work of the course service on %s', (driver) => {
  let course: RunningCourse;
  beforeAll(async () => {
    course = await startCourse(driver);
  });
  afterAll(() => course.stop());

  it('answers a GET without an ETag, and a conditional GET in full', async () => {
    const first = await course.call('/api/courses');
    expect(first.status).toBe(200);
    expect(first.headers.get('etag')).toBeNull();
    const again = await course.call('/api/courses', { headers: { 'if-none-match': '*' } });
    expect(again.status).toBe(200);
    expect((await again.json()).items).toEqual((await first.json()).items);
  });

  it('creates, reads and pages with the prepared statements, each many times (past any plan caching)', async () => {
    const created: { id: string }[] = [];
    for (let i = 0; i < 8; i++) {
      const res = await course.call('/api/courses', { method: 'POST', ...json({ title: `prepared ${i}`, credits: i }) });
      expect(res.status).toBe(201);
      created.push(await res.json());
    }
    for (const { id } of created) {
      const res = await course.call(`/api/courses/${id}`);
      expect(await res.json()).toMatchObject({ id });
    }
    const seen: string[] = [];
    for (let cursor: string | null = null, pages = 0; pages === 0 || cursor; pages++) {
      const page: { items: { id: string }[]; nextCursor: string | null } = await (
        await course.call(`/api/courses?limit=1${cursor ? `&cursor=${cursor}` : ''}`)
      ).json();
      seen.push(...page.items.map((c) => c.id));
      cursor = page.nextCursor;
    }
    expect(seen).toEqual(expect.arrayContaining(created.map((c) => c.id)));
    expect(new Set(seen).size).toBe(seen.length);
  });
});
