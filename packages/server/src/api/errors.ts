import type { ErrorBody } from '@shed/protocol';
import type { FastifyError } from 'fastify';
import { ShedError, asShedError, type ErrorCode } from '../core/errors.js';

/** The one place error codes become HTTP statuses. The SDK maps the body's code back. */
export function httpStatus(code: ErrorCode): number {
  switch (code) {
    case 'not_found': return 404;
    case 'already_exists': return 409;
    case 'invalid_argument': return 400;
    // 412 rather than 409: "the sandbox is not in a state for this", distinct from a name clash.
    case 'failed_precondition': return 412;
    case 'resource_exhausted': return 429;
    case 'unauthenticated': return 401;
    case 'unimplemented': return 501;
    case 'unavailable': return 503;
    case 'internal': return 500;
  }
}

export function errorBody(err: ShedError): ErrorBody {
  return { error: { code: err.code, message: err.message, details: err.details } };
}

/**
 * Turns whatever a request produced into a ShedError: core's own errors as they are;
 * fastify's request errors (schema validation, bad JSON, oversized or unsupported bodies)
 * as invalid_argument with the reason; anything else as internal.
 */
export function toShedError(err: unknown): ShedError {
  if (err instanceof ShedError) return err;
  if (isFastifyError(err)) {
    if (err.validation !== undefined) {
      const where = err.validationContext ?? 'request';
      const problems = err.validation.map((v) => `${where}${v.instancePath || ''} ${v.message ?? 'is invalid'}${extra(v.params)}`);
      return new ShedError('invalid_argument', `invalid request: ${problems.join('; ')}`, { details: { problems } });
    }
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return new ShedError('invalid_argument', 'request body is too large; stream file contents through the files API instead');
    }
    if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
      return new ShedError('invalid_argument', `invalid request: ${err.message}`, { details: { reason: err.code } });
    }
  }
  return asShedError(err, 'request failed');
}

function isFastifyError(err: unknown): err is FastifyError {
  return err instanceof Error && 'code' in err && typeof err.code === 'string' && err.code.startsWith('FST_');
}

/** Names the offending field of an additionalProperties or enum failure, which ajv keeps in params. */
function extra(params: Record<string, unknown> | undefined): string {
  if (params === undefined) return '';
  if (typeof params['additionalProperty'] === 'string') return `: '${params['additionalProperty']}'`;
  if (Array.isArray(params['allowedValues'])) return `: one of ${params['allowedValues'].join(', ')}`;
  return '';
}
