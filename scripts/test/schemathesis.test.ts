import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { jsonRequest, startOnLoopback, type RunningService } from '@courseops/kit/testing';
import type { Express } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCourseService } from '../../services/course/src/service.js';
import { createStatusService } from '../../services/status/src/service.js';
import { createTeacherService } from '../../services/teacher/src/service.js';

/**
 * Schemathesis (property-based API testing, from PyPI) against each service running on a real PostgreSQL
 * database, driven by the service's own `GET /openapi.json`: every documented operation with examples,
 * boundary values, fuzzed and invalid inputs, then chains that follow the document's links (create, then
 * read, update, delete what was created). It must find no 5xx and no answer the document does not allow.
 */

const schemathesisVersion = '4.32.5';
/** Outside the repository, by version: a second run (or a new checkout) reuses it. */
const venv = join(homedir(), '.cache', 'courseops', `schemathesis-${schemathesisVersion}`);
const schemathesis = join(venv, 'bin', 'schemathesis');
/** Printed with every run, so a failure can be replayed with the same inputs. */
const seed = Number(process.env.SCHEMATHESIS_SEED ?? 20_260_714);
const maxExamples = 100;
const webhookToken = 'schemathesis-webhook-token';

const run = promisify(execFile);

/** Written last: a venv without it is a half-made install (interrupted), made again from scratch. */
const installedMarker = join(venv, 'installed');

/** Installs the pinned schemathesis into its own venv, once. */
async function ensureSchemathesis(): Promise<void> {
  if (existsSync(installedMarker)) return;
  rmSync(venv, { recursive: true, force: true });
  mkdirSync(venv, { recursive: true });
  await run('python3', ['-m', 'venv', venv]);
  await run(join(venv, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', `schemathesis==${schemathesisVersion}`], {
    maxBuffer: 16 * 1024 * 1024,
  });
  writeFileSync(installedMarker, `${schemathesisVersion}\n`);
}

/**
 * An invalid body may also be too large to read: API.md answers that with `413 payload_too_large`, so 413
 * joins schemathesis's default list of statuses that reject invalid data.
 */
const commonConfig = `
[checks.negative_data_rejection]
expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429", "5xx"]
`;

/** Valid data may also be refused with these statuses by the named operations (schemathesis's default: 2xx, 3xx, 401, 403, 404, 409, 429, 5xx). */
const alsoRefusingValidData = (operationIds: string[], statuses: string[]) => `
[[operations]]
include-operation-id = ${JSON.stringify(operationIds)}
checks.positive_data_acceptance.expected-statuses = ${JSON.stringify(['2xx', '3xx', '401', '403', '404', '409', '429', '5xx', ...statuses])}
`;

/**
 * Per-service allowances, each for a rule the document cannot express in JSON Schema:
 * - a list's `cursor` is opaque: only one a previous page returned is valid (the NextPage links send
 *   those), so a made-up one that matches its pattern is rightly `400 validation_failed`; and the course
 *   list's `ids` excludes `limit` and `cursor`;
 * - assigning a course the course service does not know is `422 course_not_found` (API.md);
 * - an alert time must lie in years 0100–9999 once its offset is applied, or be Go's zero time in any
 *   spelling (`0000-12-31T23:59:00-00:01` is one): a pattern cannot do offset arithmetic; and a label
 *   value may be up to 16 KiB, but so may the whole body (`413 payload_too_large`), which JSON Schema
 *   cannot bound.
 */
const allowances = {
  course: alsoRefusingValidData(['listCourses'], ['400']),
  teacher: alsoRefusingValidData(['listTeachers', 'listTeacherCourses'], ['400']) + alsoRefusingValidData(['assignCourse'], ['422']),
  status: alsoRefusingValidData(['receiveAlerts'], ['400', '413']),
};

interface Outcome {
  code: number | null;
  output: string;
  seconds: number;
}

/**
 * Most drawn course ids name no course (a 422); these, created in the course service first, let assignment
 * chains succeed too (assign, list, unassign, delete the teacher with assignments).
 */
const knownCourses = (ids: string[]) => `
[dictionaries.courses]
values = ${JSON.stringify(ids)}

[[operations]]
include-operation-id = ["assignCourse", "unassignCourse"]
parameters = { "body.courseId" = { dictionary = "courses", probability = 0.7 }, "path.courseId" = { dictionary = "courses", probability = 0.7 } }
`;

/** Runs schemathesis against a running service's document; the service answers from this process meanwhile. */
function runSchemathesis(baseUrl: string, config: string, extraArgs: string[] = []): Promise<Outcome> {
  const workDir = mkdtempSync(join(tmpdir(), 'courseops-schemathesis-'));
  const configFile = join(workDir, 'schemathesis.toml');
  writeFileSync(configFile, commonConfig + config);
  const args = [
    '--config-file', configFile,
    'run', `${baseUrl}/openapi.json`,
    '--checks', 'all',
    // API.md answers a method no route has with `404 not_found` (JSON), not 405 with Allow.
    '--exclude-checks', 'unsupported_method,allow_header_conformance',
    '--phases', 'examples,coverage,fuzzing,stateful',
    '--max-examples', String(maxExamples),
    '--seed', String(seed),
    // One worker: Python 3.11's ast.parse is not thread-safe, and hypothesis calls it (a runtime error with two).
    '--workers', '1',
    '--generation-database', 'none',
    '--request-timeout', '10',
    '--no-color',
    ...extraArgs,
  ];
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(schemathesis, args, { cwd: workDir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      rmSync(workDir, { recursive: true, force: true });
      resolve({ code, output, seconds: (Date.now() - started) / 1000 });
    });
  });
}

/** The whole report on failure (what failed, and the curl lines that reproduce it); a summary otherwise. */
function expectClean(name: string, outcome: Outcome): void {
  const summary = `schemathesis ${schemathesisVersion} on ${name}: exit ${outcome.code} in ${outcome.seconds.toFixed(1)} s (seed ${seed})`;
  const report = outcome.output.slice(outcome.output.lastIndexOf('\n', outcome.output.indexOf('=== SUMMARY ===')) + 1);
  console.log(`${summary}\n${outcome.code === 0 ? report : outcome.output}`);
  expect(outcome.code, `${summary}\n${outcome.output}`).toBe(0);
}

const counterValue = (exposition: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(exposition)?.[1] ?? 0);

// Generous: the first run on a machine installs schemathesis (about 20 s), then each service takes well under a minute.
describe('schemathesis against each service on PostgreSQL', { timeout: 180_000 }, () => {
  const running: RunningService<{ close: () => Promise<void> }>[] = [];
  const settings = { rateLimitPerMinute: 1_000_000, logLevel: 'error' };

  beforeAll(async () => {
    await ensureSchemathesis();
  }, 300_000);
  afterAll(async () => {
    for (const service of running.reverse()) await service.stop();
  });

  const start = async <S extends { app: Express; close: () => Promise<void> }>(
    name: string,
    create: Parameters<typeof startOnLoopback<S>>[2],
  ) => {
    const service = await startOnLoopback('postgres', `schemathesis_${name}`, create, settings);
    running.push(service);
    return service;
  };

  it(`finds no server error and no answer outside the course service's document (seed ${seed})`, async () => {
    const course = await start('course', createCourseService);
    expectClean('course', await runSchemathesis(course.url, allowances.course));
    expect(counterValue(await (await course.call('/metrics')).text(), 'courses_deleted_total')).toBeGreaterThan(0);
  });

  it(`finds no server error and no answer outside the teacher service's document (seed ${seed})`, async () => {
    const course = await start('teacher_courses', createCourseService);
    const teacher = await start('teacher', (common) =>
      createTeacherService({ ...common, courseServiceUrl: course.url, courseServiceTimeoutMs: 2000 }),
    );
    const courseIds: string[] = [];
    for (const title of ['Algebra', 'Biology', 'Chemistry']) {
      const res = await course.call('/api/courses', { method: 'POST', ...jsonRequest({ title }) });
      courseIds.push((await res.json()).id);
    }
    expectClean('teacher', await runSchemathesis(teacher.url, allowances.teacher + knownCourses(courseIds)));
    // The run got past validation into the service's logic: it made assignments, not only 4xx.
    expect(counterValue(await (await teacher.call('/metrics')).text(), 'teacher_course_assignments_total')).toBeGreaterThan(0);
  });

  it(`finds no server error and no answer outside the status service's document (seed ${seed})`, async () => {
    const status = await start('status', (common) =>
      createStatusService(common, { targets: [], probeIntervalMs: 3_600_000, degradedLatencyMs: 1000, alertWebhookToken: webhookToken }),
    );
    expectClean('status', await runSchemathesis(status.url, allowances.status, ['--header', `Authorization: Bearer ${webhookToken}`]));
  });
});
