// The error a caller of AgentClient sees: shed's closed code plus, when the agent reported
// one, the errno name it was derived from.
import type { ErrorCode } from '../../errors.js';

/** errno name → shed code. Names not listed are `internal`. */
const ERRNO_CODES: Readonly<Record<string, ErrorCode>> = {
  ENOENT: 'not_found',
  ESRCH: 'not_found',
  ENXIO: 'not_found',
  EEXIST: 'already_exists',
  EINVAL: 'invalid_argument',
  ENAMETOOLONG: 'invalid_argument',
  E2BIG: 'invalid_argument',
  EBADF: 'invalid_argument',
  // The path or process exists but is in the wrong state or of the wrong kind for the call;
  // the closed set has no "permission denied", and a permission is state, not input.
  EACCES: 'failed_precondition',
  EPERM: 'failed_precondition',
  EROFS: 'failed_precondition',
  EISDIR: 'failed_precondition',
  ENOTDIR: 'failed_precondition',
  ENOTEMPTY: 'failed_precondition',
  ELOOP: 'failed_precondition',
  EXDEV: 'failed_precondition',
  EBUSY: 'failed_precondition',
  ETXTBSY: 'failed_precondition',
  ENOEXEC: 'failed_precondition',
  ERANGE: 'failed_precondition',
  ENOTTY: 'failed_precondition',
  ENOSPC: 'resource_exhausted',
  EDQUOT: 'resource_exhausted',
  EFBIG: 'resource_exhausted',
  ENOMEM: 'resource_exhausted',
  EMFILE: 'resource_exhausted',
  ENFILE: 'resource_exhausted',
  EAGAIN: 'resource_exhausted',
  EMLINK: 'resource_exhausted',
  ECONNRESET: 'unavailable',
  // TCP_CONNECT: nothing listens on the port yet, or the address cannot be reached.
  ECONNREFUSED: 'unavailable',
  ECONNABORTED: 'unavailable',
  ETIMEDOUT: 'unavailable',
  EHOSTUNREACH: 'unavailable',
  ENETUNREACH: 'unavailable',
  EADDRNOTAVAIL: 'unavailable',
  EPIPE: 'unavailable',
};

/** Maps an errno name reported by the agent to shed's closed set of codes. */
export function codeForErrno(errno: string): ErrorCode {
  return ERRNO_CODES[errno] ?? 'internal';
}

export interface AgentErrorOptions {
  /** The errno name the agent reported, e.g. `ENOENT`. */
  errno?: string;
  cause?: unknown;
}

/** A failed agent operation. `code` is from shed's closed set; `errno` is the agent's errno name. */
export class AgentError extends Error {
  override readonly name = 'AgentError';
  readonly code: ErrorCode;
  readonly errno: string | undefined;

  constructor(code: ErrorCode, message: string, opts: AgentErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.errno = opts.errno;
  }

  /** The error for an `ERROR {errno, message}` reply to `what` (e.g. "stat /etc/x"). */
  static fromReply(what: string, errno: string, detail: string | undefined): AgentError {
    const text = detail === undefined || detail === '' ? errno : `${errno}: ${detail}`;
    return new AgentError(codeForErrno(errno), `${what} failed: ${text}`, { errno });
  }
}
