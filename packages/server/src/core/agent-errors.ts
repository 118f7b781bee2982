import { ShedError, isErrorCode } from './errors.js';

/**
 * Runs an agent call and turns its failure into a ShedError. The agent client's errors
 * already carry a code from the closed set (an errno mapped by the client); they keep it,
 * and the message gains what core was doing.
 */
export async function viaAgent<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw fromAgentError(err, what);
  }
}

export function fromAgentError(err: unknown, what: string): ShedError {
  if (err instanceof ShedError) return err;
  if (err instanceof Error && 'code' in err && typeof err.code === 'string' && isErrorCode(err.code)) {
    const errno = 'errno' in err && typeof err.errno === 'string' ? { errno: err.errno } : {};
    return new ShedError(err.code, `${what}: ${err.message}`, { cause: err, details: errno });
  }
  if (err instanceof Error && err.name === 'AbortError') {
    return new ShedError('unavailable', `${what}: cancelled by the caller`, { cause: err });
  }
  const msg = err instanceof Error ? err.message : String(err);
  return new ShedError('internal', `${what}: ${msg}`, { cause: err });
}
