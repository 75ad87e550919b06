import { Database, type BuiltService, type ServiceSettings } from '@courseops/kit';
import { startOnLoopback, type Driver, type RunningService } from '@courseops/kit/testing';
import { vi } from 'vitest';
import { createCourseService } from '../src/service.js';

export { drivers, jsonRequest as json, type Driver } from '@courseops/kit/testing';

export type RunningCourse = RunningService<BuiltService>;

/** A course service on a loopback port, on embedded PGlite or a fresh database of the test PostgreSQL server. */
export const startCourse = (driver: Driver, settings: Partial<ServiceSettings> = {}): Promise<RunningCourse> =>
  startOnLoopback(driver, 'course', createCourseService, settings);

/**
 * A course service and its own database handle, so a test can seed and read rows where the service keeps
 * them, on either driver.
 */
export async function startCourseWithDatabase(driver: Driver, settings: Partial<ServiceSettings> = {}) {
  const open = vi.spyOn(Database, 'open');
  try {
    const course = await startCourse(driver, settings);
    const database = (await open.mock.results[0]!.value) as Database<Record<string, unknown>>;
    const sql = async <T>(text: string, params: unknown[] = []): Promise<T[]> =>
      ((await database.db.$client.query(text, params)) as { rows: T[] }).rows;
    return { course, database, sql };
  } finally {
    open.mockRestore();
  }
}
