import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import * as formats from 'ajv-formats';
import type { Check, ConfigLocation, RequestContext, Verdict } from '../pipeline/types.ts';

// JSON Schema validation of request bodies. ajv compiles each schema once, at config
// load, into a plain JavaScript function: per request it is a function call, not an
// interpretation of the schema.

export class BodySchemaError extends Error {}

export interface BodyValidationOptions {
  readonly schema: Record<string, unknown>;
  readonly source: ConfigLocation;
}

const MAX_VIOLATIONS = 10;
const bodyMethods = new Set(['POST', 'PUT', 'PATCH']);
// The same for every valid body: built once, as the other checks' passes are.
const valid: Verdict = { kind: 'continue', evidence: { valid: true } };

function newAjv(): Ajv2020 {
  // allErrors: the caller gets every violation at once, not one per round trip.
  const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
  // ajv-formats is CommonJS: under nodenext its default export is the module object, whose
  // own default is the plugin (at run time both are the same function).
  formats.default.default(ajv);
  return ajv;
}

export function compileBodySchema(schema: Record<string, unknown>): ValidateFunction {
  try {
    return newAjv().compile(schema);
  } catch (err) {
    throw new BodySchemaError(`invalid JSON Schema: ${(err as Error).message}`);
  }
}

/** ajv's "/items/0/qty" as "$.items[0].qty", with the missing or extra property named. */
export function jsonPathOf(e: ErrorObject): string {
  let path = '$';
  for (const raw of e.instancePath.split('/').slice(1)) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    path += /^\d+$/.test(seg) ? `[${seg}]` : /^[A-Za-z_$][\w$]*$/.test(seg) ? `.${seg}` : `[${JSON.stringify(seg)}]`;
  }
  const extra = (e.params as { missingProperty?: string; additionalProperty?: string });
  const prop = extra.missingProperty ?? extra.additionalProperty;
  if (prop !== undefined) path += /^[A-Za-z_$][\w$]*$/.test(prop) ? `.${prop}` : `[${JSON.stringify(prop)}]`;
  return path;
}

function describe(e: ErrorObject): string {
  if (e.keyword === 'required') return 'is required';
  if (e.keyword === 'additionalProperties') return 'is not allowed';
  return e.message ?? e.keyword;
}

export function createBodyValidationCheck(options: BodyValidationOptions): Check {
  const validate = compileBodySchema(options.schema);
  return {
    id: 'body-schema',
    phase: 'protect',
    source: options.source,
    evaluate(ctx: RequestContext): Verdict {
      if (!bodyMethods.has(ctx.method)) return { kind: 'continue', evidence: { skipped: `${ctx.method} has no body to validate` } };
      const body = ctx.body;
      if (!body || body.raw.length === 0) {
        return { kind: 'deny', code: 'body_invalid', evidence: { violations: ['$: a JSON body is required'] }, detail: 'The body does not match the schema: $: a JSON body is required.' };
      }
      if (body.kind !== 'json') return { kind: 'continue', evidence: { skipped: `not JSON (${body.mediaType || 'no content type'})` } };
      if (body.parseError !== null) {
        return { kind: 'deny', code: 'body_invalid', evidence: { violations: [`$: ${body.parseError}`] }, detail: `The body is ${body.parseError}.` };
      }
      if (validate(body.json)) return valid;
      const errors = validate.errors ?? [];
      const violations = errors.slice(0, MAX_VIOLATIONS).map((e) => `${jsonPathOf(e)}: ${describe(e)}`);
      if (errors.length > MAX_VIOLATIONS) violations.push(`… and ${errors.length - MAX_VIOLATIONS} more`);
      return { kind: 'deny', code: 'body_invalid', evidence: { violations }, detail: `The body does not match the schema: ${violations.join('; ')}.` };
    },
  };
}
