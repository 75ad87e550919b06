import type { RequestHandler } from 'express';
import { z } from 'zod';
import {
  createDocument,
  type oas31,
  type ZodOpenApiOverrideContext,
  type ZodOpenApiPathsObject,
  type ZodOpenApiResponseObject,
  type ZodOpenApiSecuritySchemeObject,
} from 'zod-openapi';
import type { ErrorCode } from './http/errors.js';
import { validRequestId } from './http/requestId.js';
import { idParams } from './http/validation.js';
import type { ReadinessReport } from './readiness.js';

/**
 * What every service's `GET /openapi.json` shares (API.md "Common to every service"): the error body,
 * the error answers any request may get, and the probe endpoints. Each service describes its own
 * operations with the very zod schemas its routes validate with, so the document cannot drift from
 * what the service accepts.
 */

export type OpenApiDocument = oas31.OpenAPIObject;

const errorDetailSchema = z.object({ path: z.string(), message: z.string() });

/** The error body of API.md, narrowed to the codes one answer can carry. */
export const errorBodySchema = (codes: [ErrorCode, ...ErrorCode[]]) =>
  z.object({
    error: z.object({
      code: z.enum(codes),
      message: z.string(),
      requestId: z.string(),
      details: z.array(errorDetailSchema).optional(),
    }),
  });

/** Every answer echoes the request id (API.md "request id"). */
const requestIdHeaders = z.object({ 'X-Request-Id': z.string().regex(validRequestId) });
type Headers = Record<string, z.ZodType>;

const seconds = z.string().regex(/^\d+$/);

export const contentResponse = (description: string, mediaType: string, schema: z.ZodType, headers: Headers = {}): ZodOpenApiResponseObject => ({
  description,
  headers: requestIdHeaders.extend(headers),
  content: { [mediaType]: { schema } },
});

export const jsonResponse = (description: string, schema: z.ZodType, headers: Headers = {}) =>
  contentResponse(description, 'application/json', schema, headers);

export const errorResponse = (description: string, codes: [ErrorCode, ...ErrorCode[]], headers: Headers = {}) =>
  jsonResponse(description, errorBodySchema(codes), headers);

export const noContentResponse = (description: string): ZodOpenApiResponseObject => ({ description, headers: requestIdHeaders });

/** 201 with the new resource and where it lives. */
export const createdResponse = (description: string, schema: z.ZodType) => jsonResponse(description, schema, { Location: z.string() });

export const notFoundResponse = (what: string) => errorResponse(`no such ${what}`, ['not_found']);

/** A query or path parameter that does not validate (no body to parse). */
export const invalidRequestResponse = errorResponse('a parameter does not validate; `details` says which', ['validation_failed']);

/** What any API request may be answered with, whatever it asks (the probes are exempt from the rate limit). */
export const apiErrorResponses = {
  429: errorResponse('too many requests from this client', ['rate_limited'], {
    RateLimit: z.string(),
    'RateLimit-Policy': z.string(),
    'Retry-After': seconds,
  }),
  500: errorResponse('an unexpected error (logged with the request id)', ['internal']),
  503: errorResponse('a dependency does not answer, or this service is saturated (`overloaded`, with Retry-After)', ['dependency_unavailable', 'overloaded'], {
    'Retry-After': seconds.optional(),
  }),
} satisfies Record<number, ZodOpenApiResponseObject>;

/** What a request with a JSON body may be refused with, besides its schema's own `validation_failed`. */
export const jsonBodyErrorResponses = {
  400: errorResponse('the body is not JSON (`invalid_json`), or does not validate (`validation_failed`, `details` says where)', [
    'invalid_json',
    'validation_failed',
  ]),
  413: errorResponse('the body is larger than 16 KiB', ['payload_too_large']),
  415: errorResponse('the body is not application/json in UTF-8', ['unsupported_media_type']),
} satisfies Record<number, ZodOpenApiResponseObject>;

/** `GET /…/{id}`: one resource by its UUID (a malformed id is a 400, an unknown one a 404). */
export const getByIdOperation = (operationId: string, what: string, schema: z.ZodType) => ({
  operationId,
  summary: `One ${what}`,
  requestParams: { path: idParams },
  responses: { 200: jsonResponse(`the ${what}`, schema), 400: invalidRequestResponse, 404: notFoundResponse(what), ...apiErrorResponses },
});

/** `DELETE /…/{id}`: 204, or 400 / 404 like `getByIdOperation`. */
export const deleteByIdOperation = (operationId: string, what: string, summary: string) => ({
  operationId,
  summary,
  requestParams: { path: idParams },
  responses: { 204: noContentResponse('deleted'), 400: invalidRequestResponse, 404: notFoundResponse(what), ...apiErrorResponses },
});

/** A JSON request body validated by `schema` (the same one the route passes to `parseBody`). */
export const jsonRequestBody = (schema: z.ZodType) => ({ required: true, content: { 'application/json': { schema } } });

const checkResultSchema = z.object({
  status: z.enum(['up', 'down']),
  latencyMs: z.number(),
  soft: z.literal(true).optional(),
  error: z.string().optional(),
});
const readinessBodySchema = z.object({ status: z.enum(['ready', 'not_ready']), checks: z.record(z.string(), checkResultSchema) });
// The document follows what /readyz really answers: this fails to compile if the two ever differ.
const readinessBodyMatches: [z.infer<typeof readinessBodySchema>, ReadinessReport['body']] extends [ReadinessReport['body'], z.infer<typeof readinessBodySchema>]
  ? true
  : never = true;
void readinessBodyMatches;

const probePaths: ZodOpenApiPathsObject = {
  '/healthz': {
    get: {
      operationId: 'healthz',
      tags: ['probes'],
      summary: 'Liveness: the process can serve; never checks dependencies',
      responses: { 200: jsonResponse('alive', z.object({ status: z.literal('ok') })) },
    },
  },
  '/readyz': {
    get: {
      operationId: 'readyz',
      tags: ['probes'],
      summary: 'Readiness: every hard dependency answers (soft ones are reported only)',
      responses: {
        200: jsonResponse('ready', readinessBodySchema),
        503: jsonResponse('a hard dependency is down, or the service is shutting down', readinessBodySchema),
      },
    },
  },
  '/metrics': {
    get: {
      operationId: 'metrics',
      tags: ['probes'],
      summary: 'Prometheus text exposition',
      responses: { 200: contentResponse('metrics', 'text/plain', z.string()) },
    },
  },
};

/**
 * Query numbers are validated as digit strings piped into a bounded number (`queryInt`); their input
 * schema alone would say "any digits". OpenAPI describes a query integer by its value, so document the
 * number the pipe checks, bounds included: a generator then sends what the service accepts.
 */
function documentQueryIntegers({ zodSchema, jsonSchema, io }: ZodOpenApiOverrideContext): void {
  if (io !== 'input') return;
  const def = zodSchema._zod.def;
  if (def.type !== 'pipe') return;
  const { in: source, out: target } = def as unknown as { in: z.core.$ZodType; out: z.core.$ZodType };
  if (target._zod.def.type !== 'number' || source._zod.def.type !== 'pipe') return;
  const parsed = source._zod.def as unknown as { in: z.core.$ZodType; out: z.core.$ZodType };
  if (parsed.in._zod.def.type !== 'string' || parsed.out._zod.def.type !== 'transform') return;
  // The number the digits become: its bounds are the query's bounds; digits make it an integer.
  const { $schema: _, type: _type, ...bounds } = z.toJSONSchema(target as z.ZodType) as Record<string, unknown>;
  for (const key of Object.keys(jsonSchema)) delete (jsonSchema as Record<string, unknown>)[key];
  Object.assign(jsonSchema, { type: 'integer', ...bounds });
}

/**
 * zod checks an email address with its own pattern, which the document carries; `format: email` would
 * promise RFC 5321 rules (a local part of at most 64 characters, say) that the service does not apply,
 * so a tool that trusts the format expects refusals that never come. The pattern alone is the contract.
 */
function documentEmailByPattern({ jsonSchema }: ZodOpenApiOverrideContext): void {
  if (jsonSchema.format === 'email' && jsonSchema.pattern !== undefined) delete jsonSchema.format;
}

/**
 * zod renders a string with several regex checks as `pattern` plus `allOf: [{pattern}, …]`. Generators
 * such as schemathesis (hypothesis) draw from one pattern and filter on the others, which for a long
 * string (a 16 KiB label value) takes minutes. The same conjunction as one pattern of lookaheads, each
 * "this pattern matches somewhere", generates at once and means exactly the same.
 */
function mergePatterns({ jsonSchema }: ZodOpenApiOverrideContext): void {
  const { pattern, allOf } = jsonSchema;
  const onlyPatterns = (part: unknown): part is { pattern: string } =>
    typeof part === 'object' && part !== null && Object.keys(part).length === 1 && typeof (part as { pattern?: unknown }).pattern === 'string';
  if (!Array.isArray(allOf) || allOf.length === 0 || !allOf.every(onlyPatterns)) return;
  const patterns = [...(typeof pattern === 'string' ? [pattern] : []), ...allOf.map((part) => part.pattern)];
  const anywhere = (p: string) => (p.startsWith('^') ? `(?=${p})` : `(?=[\\s\\S]*?(?:${p}))`);
  jsonSchema.pattern = `^${patterns.map(anywhere).join('')}`;
  delete jsonSchema.allOf;
}

export interface ServiceDocumentOptions {
  /** The service name, as in logs and metrics. */
  name: string;
  version: string;
  description: string;
  paths: ZodOpenApiPathsObject;
  securitySchemes?: Record<string, ZodOpenApiSecuritySchemeObject>;
}

/** The OpenAPI 3.1 document of a service: its operations, plus the probes every service has. */
export function serviceDocument(options: ServiceDocumentOptions): OpenApiDocument {
  return createDocument(
    {
      openapi: '3.1.0',
      info: { title: `courseops ${options.name} service`, version: options.version, description: options.description },
      paths: { ...options.paths, ...probePaths },
      ...(options.securitySchemes ? { components: { securitySchemes: options.securitySchemes } } : {}),
    },
    {
      override: (context) => {
        documentQueryIntegers(context);
        documentEmailByPattern(context);
        mergePatterns(context);
      },
    },
  );
}

/** `GET /openapi.json`: the document is built once, when the service starts, so a schema it cannot render fails the start. */
export const openApiRoute = (document: OpenApiDocument): RequestHandler => {
  const body = JSON.stringify(document);
  return (_req, res) => {
    res.type('application/json').send(body);
  };
};
