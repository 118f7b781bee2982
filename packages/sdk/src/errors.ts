import { isErrorCode, type ErrorCode } from '@shed/protocol/client';

/**
 * The one error class of the SDK. `code` is from shed's closed set (the same the server
 * uses), so callers branch on it, never on messages: `if (e instanceof ShedApiError &&
 * e.code === 'not_found')`. Messages say how to fix the problem.
 */
export class ShedApiError extends Error {
  override readonly name = 'ShedApiError';
  readonly code: ErrorCode;
  /** HTTP status of the response, or 0 when no response arrived. */
  readonly status: number;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, opts: { status?: number; details?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.status = opts.status ?? 0;
    this.details = opts.details ?? {};
  }
}

/** The error a non-2xx response stands for, from its `{error: {code, message, details}}` body. */
export function errorFromResponse(status: number, text: string): ShedApiError {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const err = isRecord(body) && isRecord(body['error']) ? body['error'] : undefined;
  const code = err?.['code'];
  const message = err?.['message'];
  if (err === undefined || typeof code !== 'string' || !isErrorCode(code) || typeof message !== 'string') {
    return new ShedApiError('internal', `shedd answered ${status} without an error body (${text.slice(0, 200)}); is the socket really shedd?`, { status });
  }
  const details = isRecord(err['details']) ? err['details'] : {};
  return new ShedApiError(code, message, { status, details });
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
