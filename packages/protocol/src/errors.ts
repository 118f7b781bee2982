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
  // A request over TCP without the right bearer token (HTTP 401). None of the others fits:
  // a client must tell "fix your token" from a bad argument or a daemon that is down.
  'unauthenticated',
  // The operation exists in the API but this host or driver cannot do it (HTTP 501): memory
  // snapshots without a working CRIU. Not failed_precondition, which a caller can fix by
  // changing the sandbox's state; this needs the host changed (the message says how).
  'unimplemented',
  'unavailable',
  'internal',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export function isErrorCode(value: string): value is ErrorCode {
  return (ERROR_CODES as readonly string[]).includes(value);
}
