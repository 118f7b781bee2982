import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import type { Static, TSchema } from '@sinclair/typebox';
import { ShedError } from '../core/errors.js';

// Compiled once per schema: every exec reads its sandbox row, and a compiled check is about
// ten times faster than Value.Check's interpretation of the schema.
const checks = new WeakMap<TSchema, TypeCheck<TSchema>>();

function checkerOf<S extends TSchema>(schema: S): TypeCheck<S> {
  let c = checks.get(schema);
  if (c === undefined) {
    c = TypeCompiler.Compile(schema);
    checks.set(schema, c);
  }
  return c as TypeCheck<S>; // Compiled from this very schema just above or on an earlier call.
}

/**
 * Parses a JSON column against its schema. The database is shed's own, but a file on disk
 * is still a trust boundary (an older or newer shedd, a hand edit): a row that does not
 * match is reported, never cast.
 */
export function parseJsonColumn<S extends TSchema>(schema: S, text: string, where: string): Static<S> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw corrupt(where, 'is not JSON', err);
  }
  const check = checkerOf(schema);
  if (!check.Check(value)) {
    const first = check.Errors(value).First();
    throw corrupt(where, `does not match its schema${first ? ` at '${first.path}': ${first.message}` : ''}`);
  }
  return value;
}

function corrupt(where: string, what: string, cause?: unknown): ShedError {
  return new ShedError('internal', `stored ${where} ${what}; the database may come from another shed version`, {
    cause,
    details: { where },
  });
}
