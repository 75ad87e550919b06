/**
 * The names API.md fixes that more than one part of the repository reads: the services (through the
 * kit), the cdk8s app (alerts, dashboards, canary analysis) and the backup job. No imports, so each of them
 * can depend on it, the backup job's bundle included, without pulling anything else in.
 */

/** The metrics every service exposes (API.md "Metrics every service exposes"). */
export const METRIC = {
  httpRequests: 'http_requests_total',
  httpRequestDuration: 'http_request_duration_seconds',
  httpRequestsInFlight: 'http_requests_in_flight',
  dbQueryDuration: 'db_query_duration_seconds',
  logMessages: 'log_messages_total',
} as const;

/** Seconds; covers a 1 ms cache hit up to a 10 s timeout. A latency SLO threshold must be one of them. */
export const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

/** Probe and scrape routes: never rate-limited, never user traffic in an SLI. */
export const PROBE_ROUTES = ['/healthz', '/readyz', '/metrics'] as const;

/** The service-specific counters of API.md, with their help text. */
export const BUSINESS_COUNTERS = {
  coursesCreated: { name: 'courses_created_total', help: 'Courses created.', title: 'Courses created' },
  coursesDeleted: { name: 'courses_deleted_total', help: 'Courses deleted.', title: 'Courses deleted' },
  teachersCreated: { name: 'teachers_created_total', help: 'Teachers created.', title: 'Teachers created' },
  teacherCourseAssignments: { name: 'teacher_course_assignments_total', help: 'Courses assigned to teachers.', title: 'Teacher course assignments' },
} as const;

/** The Pushgateway job a backup run pushes to (its grouping key adds namespace, service and database). */
export const BACKUP_PUSH_JOB = 'courseops-backup';

/** What a backup run pushes (scripts/backup/metrics.ts) and the backup alerts read (cdk8s/src/data/backup.ts). */
export const BACKUP_METRICS = {
  lastSuccess: 'backup_last_success_timestamp_seconds',
  lastRun: 'backup_last_run_timestamp_seconds',
  duration: 'backup_last_duration_seconds',
  size: 'backup_last_size_bytes',
  status: 'backup_last_status',
} as const;
