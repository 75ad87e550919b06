import { z } from 'zod';
import { cidrProblem, trustedProxyEntries } from './http/clientAddress.js';

/**
 * Reads a service's environment through a zod schema, so a bad value stops the process at start
 * with a message naming the variable, instead of surfacing later as a strange runtime error.
 */
export function readEnv<S extends z.ZodObject>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const result = schema.safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n');
    throw new Error(`invalid environment:\n${problems}`);
  }
  return result.data;
}

/** An integer env variable with bounds and a default; '' counts as unset. */
export const intEnv = (defaultValue: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z.preprocess((v) => (v === undefined || v === '' ? undefined : v), z.coerce.number().int().min(min).max(max).default(defaultValue));

/** An optional string env variable; '' counts as unset. */
export const optionalStringEnv = () =>
  z.preprocess((v) => (v === '' ? undefined : v), z.string().optional());

export const logLevelEnv = () =>
  z.preprocess((v) => (v === '' ? undefined : v), z.enum(['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly']).default('info'));

/** TRUSTED_PROXIES: comma-separated CIDRs whose X-Forwarded-For is believed; none by default. A bad entry is named at start. */
export const trustedProxiesEnv = () =>
  z
    .string()
    .optional()
    .transform(trustedProxyEntries)
    .superRefine((entries, ctx) => {
      for (const entry of entries) {
        const problem = cidrProblem(entry);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      }
    });

/** What every service reads: the common rows of API.md. */
export const commonEnvSchema = z.object({
  DATABASE_URL: optionalStringEnv(),
  DATA_DIR: optionalStringEnv(),
  LOG_LEVEL: logLevelEnv(),
  RATE_LIMIT_PER_MINUTE: intEnv(600, 1),
  TRUSTED_PROXIES: trustedProxiesEnv(),
  SHUTDOWN_DELAY_MS: intEnv(0, 0, 25_000),
  /** PostgreSQL cancels a statement running longer; the request gets `503 overloaded`. */
  DB_STATEMENT_TIMEOUT_MS: intEnv(2000, 1, 600_000),
  /** The longest a request waits for a database pool connection before `503 overloaded`. */
  DB_POOL_WAIT_MS: intEnv(1000, 1, 60_000),
  /** The canary demo's switch: this share of API requests fails with a 500 (0, off, by default). */
  FAULT_RATE: z.preprocess((v) => (v === undefined || v === '' ? undefined : v), z.coerce.number().min(0).max(1).default(0)),
});
export type CommonEnv = z.infer<typeof commonEnvSchema>;
