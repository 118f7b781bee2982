import type { EventType, ShedEvent } from '@shed/sdk';
import { connect, type GlobalOptions } from '../connect.js';
import { UsageError } from '../output.js';

export interface EventsFlags {
  sandbox?: string;
  type?: string[];
  since?: string;
  json?: boolean;
}

/** Streams events, one line each, until Ctrl-C (or shedd goes away). */
export async function eventsCommand(f: EventsFlags, g: GlobalOptions): Promise<number> {
  const since = f.since === undefined ? undefined : Number(f.since);
  if (since !== undefined && !(Number.isSafeInteger(since) && since >= 0)) throw new UsageError(`--since '${f.since}' must be a sequence number (0 or more)`);
  const shed = await connect(g);
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const stream = await shed.events({
      ...(f.sandbox === undefined ? {} : { sandbox: f.sandbox }),
      // shedd checks the names (invalid_argument lists the known ones).
      ...(f.type === undefined ? {} : { types: f.type as EventType[] }),
      ...(since === undefined ? {} : { since }),
      signal: stop.signal,
    });
    if (process.stderr.isTTY) process.stderr.write('shed: following events; Ctrl-C to stop\n');
    const json = f.json === true || g.json === true;
    for await (const e of stream) process.stdout.write(json ? `${JSON.stringify(e)}\n` : line(e));
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    shed.close();
  }
}

/** `TIME  SEQ  TYPE  SANDBOX (NAME)  details` — details as key=value, timings as phase=ms. */
function line(e: ShedEvent): string {
  const who = e.name === null ? e.sandbox : `${e.sandbox} (${e.name})`;
  return `${e.time}  ${String(e.seq).padStart(5)}  ${e.type.padEnd(13)}  ${who}${detail(e.details)}\n`;
}

function detail(details: Readonly<Record<string, unknown>>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(details)) {
    if (k === 'timings' && typeof v === 'object' && v !== null) {
      const total = (v as Record<string, unknown>)['total']; // timings are phase → ms (the event schema)
      if (typeof total === 'number') parts.push(`total=${total.toFixed(1)}ms`);
    } else if (k === 'error' && typeof v === 'object' && v !== null) {
      const err = v as Record<string, unknown>; // {code, message} (the event schema)
      parts.push(`error=${String(err['code'])}: ${String(err['message'])}`);
    } else {
      parts.push(`${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
    }
  }
  return parts.length === 0 ? '' : `  ${parts.join(' ')}`;
}
