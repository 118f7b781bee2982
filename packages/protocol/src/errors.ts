/**
 * shed's closed set of error codes. Every error that crosses a package boundary carries one
 * of these; the API maps them to HTTP statuses in one place and the SDK maps them back.
 */
export const ERROR_CODES = [
  'not_found',
  'already_exists',
  'invalid_argument',
  'failed_precondition',
  'resource_exhausted',
  'unavailable',
  'internal',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export function isErrorCode(value: string): value is ErrorCode {
  return (ERROR_CODES as readonly string[]).includes(value);
}
