import type { ProcessExit } from '@shed/protocol';
import { OUTPUT_CONTENT_TYPE, OutputRecordDecoder, ROUTES, routePath } from '@shed/protocol/client';
import { ByteQueue } from './byte-queue.js';
import { ShedApiError, errorFromResponse } from './errors.js';
import { asExit } from './shapes.js';
import type { CallOptions, StreamResponse, Transport } from './transport.js';

/** Bytes held per output stream: the backpressure point for a reader, the cap for an unread stream. */
const QUEUE_LIMIT_BYTES = 4 * 1024 * 1024;

/**
 * A process started with `sandbox.spawn`. Read `stdout` and `stderr` (async iterables of
 * Buffers) while it runs; write to its stdin; signal it; `wait()` for its exit. Output of a
 * stream you do not iterate before `wait()` is discarded.
 */
export class SandboxProcess {
  readonly procId: number;
  readonly pid: number;
  readonly stdout: AsyncIterable<Buffer>;
  readonly stderr: AsyncIterable<Buffer>;
  readonly #t: Transport;
  readonly #sandbox: string;
  readonly #exit: Promise<ProcessExit>;
  readonly #out: ByteQueue;
  readonly #err: ByteQueue;
  #stdin: Promise<void> = Promise.resolve();
  #offset: number;

  /** @internal Made by Sandbox.spawn and Sandbox.attach. */
  constructor(t: Transport, sandbox: string, procId: number, pid: number, output: StreamResponse, offset = 0) {
    this.#t = t;
    this.#offset = offset;
    this.#sandbox = sandbox;
    this.procId = procId;
    this.pid = pid;
    this.#out = new ByteQueue(QUEUE_LIMIT_BYTES);
    this.#err = new ByteQueue(QUEUE_LIMIT_BYTES);
    this.stdout = this.#out;
    this.stderr = this.#err;
    this.#exit = this.#read(output);
    this.#exit.catch(() => undefined); // reported through wait() and the iterators
  }

  /**
   * End of the output received so far, in the process's output sequence (stdout and stderr
   * together): after a lost connection, `sandbox.attach(procId, { offset })` resumes here
   * without a gap or a repeat.
   */
  get offset(): number {
    return this.#offset;
  }

  /** Writes to stdin (spawn with `stdin: true`). Writes are sent in order. */
  write(data: string | Uint8Array, opts: CallOptions = {}): Promise<void> {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    return this.#queueStdin(bytes, false, opts.signal);
  }

  /** Closes stdin after the writes before it. */
  end(opts: CallOptions = {}): Promise<void> {
    return this.#queueStdin(new Uint8Array(0), true, opts.signal);
  }

  /** Sends a signal to the process group. @default 'SIGTERM' */
  async kill(signal: string | number = 'SIGTERM', opts: CallOptions = {}): Promise<void> {
    await this.#t.json('POST', this.#path(ROUTES.kill), { json: { signal }, signal: opts.signal });
  }

  /** Resolves with the exit once the process ended and its output arrived. */
  wait(): Promise<ProcessExit> {
    this.#out.discard();
    this.#err.discard();
    return this.#exit;
  }

  #queueStdin(bytes: Uint8Array, eof: boolean, signal: AbortSignal | undefined): Promise<void> {
    const run = this.#stdin.catch(() => undefined).then(async () => {
      await this.#t.json('POST', this.#path(ROUTES.stdin), { query: { eof }, raw: bytes, signal });
    });
    this.#stdin = run;
    return run;
  }

  async #read(res: StreamResponse): Promise<ProcessExit> {
    const decoder = new OutputRecordDecoder();
    let exit: ProcessExit | undefined;
    try {
      if (res.headers['content-type'] !== OUTPUT_CONTENT_TYPE) throw new ShedApiError('internal', 'the output stream has the wrong content type');
      for await (const chunk of res.body) {
        for (const rec of decoder.push(chunk as Buffer)) { // an IncomingMessage yields Buffers (no encoding set).
          if (rec.kind === 'stdout' || rec.kind === 'stderr') {
            const q = rec.kind === 'stdout' ? this.#out : this.#err;
            q.push(Buffer.from(rec.data));
            this.#offset = rec.offset + rec.data.byteLength;
            await q.room(); // not reading on meanwhile is what slows the process down
          } else if (rec.kind === 'exit') {
            exit = asExit(JSON.parse(rec.data.toString('utf8')));
          } else {
            throw errorFromResponse(500, rec.data.toString('utf8'));
          }
        }
      }
      if (exit === undefined) throw new ShedApiError('unavailable', `the output stream of process ${this.procId} ended before its exit; shedd may have restarted`);
      this.#out.end();
      this.#err.end();
      return exit;
    } catch (caught) {
      // A socket cut mid-stream (shedd stopped or restarted) is `unavailable`, like a refused connection.
      const err = caught instanceof ShedApiError ? caught : new ShedApiError('unavailable',
        `lost the output stream of process ${this.procId} (${caught instanceof Error ? caught.message : String(caught)}); shedd may have restarted, and the process keeps running`,
        { cause: caught });
      this.#out.end(err);
      this.#err.end(err);
      throw err;
    }
  }

  #path(route: string): string {
    return routePath(route, { sandbox: this.#sandbox, procId: this.procId });
  }
}
