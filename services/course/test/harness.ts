import type { BuiltService, ServiceSettings } from '@courseops/kit';
import { startOnLoopback, type Driver, type RunningService } from '@courseops/kit/testing';
import { createCourseService } from '../src/service.js';

export { drivers, jsonRequest as json, type Driver } from '@courseops/kit/testing';

export type RunningCourse = RunningService<BuiltService>;

/** A course service on a loopback port, on embedded PGlite or a fresh database of the test PostgreSQL server. */
export const startCourse = (driver: Driver, settings: Partial<ServiceSettings> = {}): Promise<RunningCourse> =>
  startOnLoopback(driver, 'course', createCourseService, settings);
