import type { TerminalServerMessage } from '@shed/protocol';
import { isErrorCode } from '@shed/protocol/client';
import { ShedApiError, isRecord } from './errors.js';

export type ServerMessage = TerminalServerMessage;

// The SDK does not load TypeBox (start-up cost, see shapes.ts): each server message is
// checked here against the fields of its type in @shed/protocol's TerminalServerMessage.

const FIELDS: Readonly<Record<ServerMessage['type'], Readonly<Record<string, (v: unknown) => boolean>>>> = {
  started: { procId: Number.isInteger, pid: Number.isInteger, offset: Number.isInteger },
  exit: {
    exitCode: (v) => v === null || Number.isInteger(v), signal: (v) => v === null || typeof v === 'string',
    timedOut: (v) => typeof v === 'boolean', offset: Number.isInteger,
  },
  error: {
    error: (v) => isRecord(v) && typeof v['code'] === 'string' && isErrorCode(v['code']) && typeof v['message'] === 'string' && isRecord(v['details']),
  },
};

/** A control message from shedd, or an `internal` ShedApiError naming what is wrong with it. */
export function parseServerMessage(text: string): ServerMessage {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw bad(`is not JSON: ${text.slice(0, 100)}`);
  }
  if (!isRecord(v) || typeof v['type'] !== 'string' || !(v['type'] in FIELDS)) throw bad(`has an unknown type: ${text.slice(0, 100)}`);
  const fields = FIELDS[v['type'] as ServerMessage['type']]; // checked to be a key just above
  for (const [name, ok] of Object.entries(fields)) if (!ok(v[name])) throw bad(`'${v['type']}' has a bad ${name}`);
  const extra = Object.keys(v).filter((k) => k !== 'type' && !(k in fields));
  if (extra.length > 0) throw bad(`'${v['type']}' has unknown fields ${extra.join(', ')}`);
  return v as unknown as ServerMessage; // every field of its type was checked above
}

const bad = (problem: string): ShedApiError =>
  new ShedApiError('internal', `a terminal control message from shedd ${problem}; are the SDK and shedd the same version?`);
