import { Type, type Static } from '@sinclair/typebox';
import { ERROR_CODES } from '../errors.js';

/** The body of every error response: one closed code, a message that says how to fix it. */
export const ErrorBody = Type.Object(
  {
    error: Type.Object(
      {
        code: Type.Union(ERROR_CODES.map((c) => Type.Literal(c))),
        message: Type.String(),
        details: Type.Record(Type.String(), Type.Unknown()),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export type ErrorBody = Static<typeof ErrorBody>;
