/** Course rows written straight into the database with SQL, and cursors to any depth of the list. */
import { encodeCursor } from '@courseops/kit';
import pg from 'pg';

/**
 * Empties the table and inserts `rows` courses in one statement, a millisecond apart (distinct createdAt,
 * as rows written one by one would have), then refreshes the planner's statistics and the visibility map,
 * as autovacuum would after a bulk load, so the first measured run does not pay for it.
 */
export async function seedCourses(db: pg.Client, rows: number): Promise<void> {
  await db.query('truncate courses');
  await db.query(
    `insert into courses (id, title, description, credits, created_at, updated_at)
     select gen_random_uuid(), 'seeded course ' || i, 'seeded for the benchmark', i % 31, t, t
     from generate_series(1, $1::int) i, lateral (select now() - ($1::int - i) * interval '1 millisecond' as t) times`,
    [rows],
  );
  await db.query('vacuum analyze courses');
}

/**
 * The cursor of the page that starts after the row at `depth` (0 = the first row) of the list's order,
 * made with the course service's own cursor encoder: reaching 90 % of a million rows by following
 * nextCursor would take 45,000 requests.
 */
export async function cursorAtDepth(db: pg.Client, depth: number): Promise<string> {
  const { rows } = await db.query<{ created_at: Date; id: string }>(
    'select created_at, id from courses order by created_at, id offset $1 limit 1',
    [depth],
  );
  if (!rows[0]) throw new Error(`the table has no row at depth ${depth}`);
  // The course service's list name in its cursors (services/course/src/routes.ts).
  return encodeCursor({ list: 'courses' }, { at: rows[0].created_at, id: rows[0].id });
}
