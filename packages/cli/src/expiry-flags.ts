import type { CreateOptions } from '@shed/sdk';
import { parseDurationSeconds } from './duration.js';
import { UsageError } from './output.js';

/** The expiry flags of `shed create` and `shed run`. */
export interface ExpiryFlags {
  ttl?: string;
  idleTimeout?: string;
  onExpire?: string;
}

/** --ttl, --idle-timeout and --on-expire as create options. */
export function expiryOptions(f: ExpiryFlags): Pick<CreateOptions, 'ttlSeconds' | 'idleTimeoutSeconds' | 'onExpire'> {
  if (f.onExpire !== undefined && f.onExpire !== 'stop' && f.onExpire !== 'delete') {
    throw new UsageError(`--on-expire must be 'stop' or 'delete'; got '${f.onExpire}'`);
  }
  return {
    ...(f.ttl === undefined ? {} : { ttlSeconds: parseDurationSeconds(f.ttl, '--ttl') }),
    ...(f.idleTimeout === undefined ? {} : { idleTimeoutSeconds: parseDurationSeconds(f.idleTimeout, '--idle-timeout') }),
    ...(f.onExpire === undefined ? {} : { onExpire: f.onExpire }),
  };
}
