import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

/**
 * Reading a service's `/openapi.json` in tests: is it a valid OpenAPI 3.1 document, and what do its
 * schemas accept, so a test can hold the live service to them (a body the document rejects must be a
 * 400, one it accepts must not be).
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

/** The OpenAPI 3.1 meta-schema's verdict on the document: its errors, or none. */
export async function openApiErrors(document: unknown): Promise<{ version: string | undefined; errors: unknown }> {
  const validator = new Validator();
  const result = await validator.validate(document as Parameters<Validator['validate']>[0]);
  return { version: validator.version, errors: result.valid ? undefined : result.errors };
}

/** JSON Schema 2020-12 (OpenAPI 3.1's dialect), with its formats checked, as a client library would. */
function compile(schema: Json): (value: unknown) => boolean {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  (addFormats as unknown as (ajv: Ajv2020) => void)(ajv);
  const validate = ajv.compile(schema);
  return (value) => validate(value) === true;
}

function operation(document: Json, path: string, method: string): Json {
  const found = document.paths?.[path]?.[method];
  if (!found) throw new Error(`the document has no ${method.toUpperCase()} ${path}`);
  return found;
}

/** Whether the document accepts this JSON body for the operation. */
export const bodyValidator = (document: Json, path: string, method: string) =>
  compile(operation(document, path, method).requestBody.content['application/json'].schema);

/** Whether the document allows this answer body for the operation's status. */
export const responseValidator = (document: Json, path: string, method: string, status: number) =>
  compile(operation(document, path, method).responses[String(status)].content['application/json'].schema);

/**
 * Whether the document accepts this text for a query or path parameter. Parameters travel as text; a
 * parameter of type integer takes the text of an integer (OpenAPI's simple serialization).
 */
export function parameterValidator(document: Json, path: string, method: string, name: string): (text: string) => boolean {
  const parameter = (operation(document, path, method).parameters as Json[]).find((p) => p.name === name);
  if (!parameter) throw new Error(`${method.toUpperCase()} ${path} has no parameter ${name}`);
  const accepts = compile(parameter.schema);
  return (text) => (parameter.schema.type === 'integer' ? /^-?\d+$/.test(text) && accepts(Number(text)) : accepts(text));
}
