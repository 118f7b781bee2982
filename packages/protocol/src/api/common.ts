import { Type, type TSchema, type TProperties, type ObjectOptions } from '@sinclair/typebox';
import { ENV_NAME_PATTERN, LABEL_KEY_PATTERN, LIMITS } from './limits.js';

/** Every object in the API is closed: an unknown field is an error, never ignored. */
export const Closed = <T extends TProperties>(props: T, opts: ObjectOptions = {}) =>
  Type.Object(props, { additionalProperties: false, ...opts });

export const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

export const Env = Type.Record(Type.String({ pattern: ENV_NAME_PATTERN }), Type.String({ maxLength: LIMITS.envValueChars }), {
  // A pattern-keyed Record is patternProperties, which checks matching names only: without
  // this, a name like `A=B` slipped past the schema.
  additionalProperties: false,
  maxProperties: LIMITS.envMax,
  description: 'Environment variables, name to value',
});

export const Labels = Type.Record(Type.String({ pattern: LABEL_KEY_PATTERN }), Type.String({ maxLength: LIMITS.labelValueChars }), {
  maxProperties: LIMITS.labelsMax,
});

export const Timings = Type.Record(Type.String(), Type.Number(), { description: 'Phase name to milliseconds; `total` is the whole operation' });

/** Sandbox id or name in a URL. */
export const SandboxParams = Closed({ sandbox: Type.String({ minLength: 1, maxLength: 64 }) });

/** ISO 8601 time, e.g. 2026-01-02T03:04:05.678Z. */
export const Time = Type.String({ format: 'date-time' });

export const Empty = Closed({});
