import { Value } from '@sinclair/typebox/value';
import type { Static, TSchema } from '@sinclair/typebox';
import { ShedError } from '../core/errors.js';

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
  if (!Value.Check(schema, value)) {
    const first = Value.Errors(schema, value).First();
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
