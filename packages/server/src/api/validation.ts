import { Ajv, type ValidateFunction } from 'ajv';
import type { FastifySchemaCompiler } from 'fastify';

/**
 * Request validation. Bodies are checked strictly: no type coercion, no defaults written
 * in, and no silent removal of unknown fields (fastify's defaults do all three), so a
 * wrong type or an unknown field is an error. Query strings and URL parameters arrive as
 * text, so those are coerced to the schema's numbers and booleans, and nothing else.
 */
const strict = new Ajv({ allErrors: false, coerceTypes: false, useDefaults: false, removeAdditional: false, strict: false });
const coercing = new Ajv({ allErrors: false, coerceTypes: 'array', useDefaults: false, removeAdditional: false, strict: false });

export const validatorCompiler: FastifySchemaCompiler<object> = ({ schema, httpPart }) => {
  // fastify calls the compiled function and reads `.errors` on failure, as with its own ajv.
  return (httpPart === 'body' ? strict : coercing).compile(schema);
};

/** A strict check (as for bodies) of a message that does not come through a route, e.g. a WebSocket's. */
export function compileStrict<T>(schema: object): ValidateFunction<T> {
  return strict.compile<T>(schema);
}
