import { ERROR_CODES, isErrorCode, type ErrorCode } from '@shed/protocol';

// The closed set of codes is part of the wire contract, so it lives in @shed/protocol; the
// server re-exports it for its own layers.
export { ERROR_CODES, isErrorCode, type ErrorCode };

export interface ShedErrorOptions {
  /** The lower-level error this one wraps. */
  cause?: unknown;
  /** Structured context (ids, paths) that helps a user fix the problem. */
  details?: Record<string, unknown>;
}

/** The one error type of the server side. Messages say what went wrong and how to fix it. */
export class ShedError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, opts: ShedErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'ShedError';
    this.code = code;
    this.details = opts.details ?? {};
  }
}

/** Wraps any thrown value as a ShedError, keeping ShedErrors as they are. */
export function asShedError(err: unknown, context: string): ShedError {
  if (err instanceof ShedError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  return new ShedError('internal', `${context}: ${msg}`, { cause: err });
}

export const notFound = (what: string, id: string): ShedError =>
  new ShedError('not_found', `${what} '${id}' does not exist; list them with 'shed ${what === 'image' ? 'image ls' : 'ls'}'`, {
    details: { [what]: id },
  });

export const invalidArgument = (message: string, details?: Record<string, unknown>): ShedError =>
  new ShedError('invalid_argument', message, details ? { details } : {});

/** The message of anything thrown, for logs and wrapped messages. */
export const errorMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err));
