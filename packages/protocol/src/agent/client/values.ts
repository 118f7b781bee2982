// Conversions between wire values and the values the client API hands out.
import { constants } from 'node:os';
import { ProtocolError } from '../errors.js';
import { AgentError } from './agent-error.js';

/**
 * A u64 offset or size as a number. 2^53 bytes (8 PiB) is beyond anything one stream
 * carries, so a larger value means a broken peer, not a big file.
 */
export function safeNumber(v: bigint, what: string, stream: number): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new ProtocolError('bad_value', `${what} ${v} is beyond 2^53`, { stream });
  }
  return Number(v);
}

const SIGNAL_NAMES = new Map<number, string>(Object.entries(constants.signals).map(([name, num]) => [num, name]));

/** `SIGTERM` for 15; `SIG42` for numbers the host has no name for (real-time signals). */
export function signalName(num: number): string {
  return SIGNAL_NAMES.get(num) ?? `SIG${num}`;
}

/** A signal given by name or number, as the number the agent expects. */
export function signalNumber(sig: NodeJS.Signals | number): number {
  if (typeof sig === 'number') {
    if (!Number.isInteger(sig) || sig < 1 || sig > 64) throw new AgentError('invalid_argument', `signal ${sig} is not 1..64`);
    return sig;
  }
  const num: number | undefined = constants.signals[sig];
  if (num === undefined) throw new AgentError('invalid_argument', `unknown signal ${String(sig)}; use a name like SIGTERM`);
  return num;
}

/** `KEY=VALUE` strings for an env record; keys may not contain `=` or be empty. */
export function envList(env: Readonly<Record<string, string>> | undefined): string[] | undefined {
  if (env === undefined) return undefined;
  return Object.entries(env).map(([k, v]) => {
    if (k === '' || k.includes('=')) throw new AgentError('invalid_argument', `env name '${k}' must be non-empty and without '='`);
    return `${k}=${v}`;
  });
}
