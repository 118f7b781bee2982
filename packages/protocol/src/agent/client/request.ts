// Requests answered by ENTRIES* then OK, or by ERROR: ping, stat, list, ps, mkdir, …
import type { Message } from '../codec.js';
import { ProtocolError } from '../errors.js';
import { okRow, type OkFields } from '../messages.js';
import { checkFields } from '../tlv.js';
import { AgentError } from './agent-error.js';
import type { Link, StreamSink } from './link.js';

/** Requests whose whole reply is ENTRIES* then OK. */
export type SimpleRequest = 'PING' | 'STAT' | 'LIST' | 'MKDIR' | 'REMOVE' | 'RENAME' | 'CONFIGURE' | 'PS';

export interface Reply<R extends SimpleRequest> {
  readonly ok: OkFields<R>;
  /** The `entry` values of every ENTRIES frame, in order. */
  readonly entries: readonly Uint8Array[];
}

/**
 * Sends the request built for a fresh stream and resolves with its reply. On abort the
 * stream is closed and later frames on it are ignored.
 */
export function request<R extends SimpleRequest>(
  link: Link,
  build: (stream: number) => Message & { readonly type: R },
  what: string,
  signal?: AbortSignal,
): Promise<Reply<R>> {
  signal?.throwIfAborted();
  return new Promise<Reply<R>>((resolve, reject) => {
    const entries: Uint8Array[] = [];
    const done = (): void => {
      link.release(stream);
      signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = (): void => {
      done();
      if (link.closed === undefined) link.send({ type: 'CLOSE', stream });
      reject(signal?.reason);
    };
    const sink: StreamSink = {
      onMessage(msg: Message): void {
        if (msg.type === 'ENTRIES') {
          entries.push(...(msg.fields.entry ?? []));
        } else if (msg.type === 'OK') {
          checkFields(okRow(type), msg.fields, `OK to ${type}`, msg.stream);
          done();
          // checkFields just verified the fields against okRow(R), which OkFields<R> is derived from.
          resolve({ ok: msg.fields as OkFields<R>, entries });
        } else if (msg.type === 'ERROR') {
          done();
          reject(AgentError.fromReply(what, msg.fields.errno, msg.fields.message));
        } else {
          throw new ProtocolError('unexpected_message', `${msg.type} in reply to ${type}`, { stream: msg.stream });
        }
      },
      onClose(err: AgentError): void {
        done();
        reject(err);
      },
    };
    // Set by openStream's synchronous call of the builder, before any reply can arrive.
    let type: SimpleRequest = 'PING';
    const stream = link.openStream(sink, (id) => {
      const msg = build(id);
      type = msg.type;
      return msg;
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
