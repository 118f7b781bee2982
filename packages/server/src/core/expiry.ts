// When a sandbox expires, computed from stored facts only (its spec, createdAt, and the last
// activity), so a restarted shedd arrives at the same deadlines as the one before it.
//
//  - TTL: `ttlSeconds` after createdAt, whatever the sandbox is doing. Default action: delete.
//  - Idle: `idleTimeoutSeconds` after the last API activity or start, while it runs with no
//    process but its PID 1. Default action: stop (its files stay; `shed start` resumes work).
//  - `onExpire` overrides the action of both.
import type { ExpireAction, SandboxRecord } from './sandboxes.js';
import { formatSeconds } from '@shed/protocol';

export type ExpiryKind = 'ttl' | 'idle';

export interface DueExpiry {
  readonly kind: ExpiryKind;
  readonly action: ExpireAction;
  /** The deadline that passed, ms since the epoch. */
  readonly atMs: number;
  /** For state_reason and the log. */
  readonly reason: string;
}

export const expireAction = (rec: SandboxRecord, kind: ExpiryKind): ExpireAction => rec.spec.onExpire ?? (kind === 'ttl' ? 'delete' : 'stop');

/** The TTL deadline, or null when it has none or it could not act (stop of a sandbox not running). */
export function ttlDeadline(rec: SandboxRecord): number | null {
  const ttl = rec.spec.ttlSeconds;
  if (ttl === undefined) return null;
  const action = expireAction(rec, 'ttl');
  // A sandbox already stopped has nothing left for a 'stop' to do; one mid-change is looked at again next time.
  if (action === 'stop' ? rec.state !== 'running' && rec.state !== 'paused' : !['running', 'paused', 'stopped', 'failed'].includes(rec.state)) return null;
  return rec.createdAt + ttl * 1000;
}

/** The idle deadline of a running sandbox, from its last activity; null when it has no idle timeout or is not running. */
export function idleDeadline(rec: SandboxRecord, lastActiveAtMs: number): number | null {
  const idle = rec.spec.idleTimeoutSeconds;
  if (idle === undefined || rec.state !== 'running') return null;
  return lastActiveAtMs + idle * 1000;
}

/** Which expiry is due at `nowMs`, the TTL first (it is the stronger promise). */
export function dueExpiry(rec: SandboxRecord, lastActiveAtMs: number, nowMs: number): DueExpiry | null {
  const ttl = ttlDeadline(rec);
  if (ttl !== null && ttl <= nowMs) {
    return { kind: 'ttl', action: expireAction(rec, 'ttl'), atMs: ttl, reason: `expired: its TTL of ${formatSeconds(rec.spec.ttlSeconds ?? 0)} ended` };
  }
  const idle = idleDeadline(rec, lastActiveAtMs);
  if (idle !== null && idle <= nowMs) {
    const reason = `expired: idle for ${formatSeconds(rec.spec.idleTimeoutSeconds ?? 0)} (no API activity and no process but PID 1)`;
    return { kind: 'idle', action: expireAction(rec, 'idle'), atMs: idle, reason };
  }
  return null;
}

/** The TTL deadline as a user sees it (SandboxInfo.expiresAt): only while it can still act. */
export const expiresAt = (rec: SandboxRecord): number | null => ttlDeadline(rec);
