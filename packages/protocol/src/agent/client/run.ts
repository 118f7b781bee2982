// run(): exec with the output collected into buffers.
import { AgentError } from './agent-error.js';
import type { ExecHandle } from './exec.js';
import type { RunOptions } from './options.js';

export interface RunResult {
  readonly stdout: Buffer;
  readonly stderr: Buffer;
  /** Exit status, or null when a signal ended the process. */
  readonly exitCode: number | null;
  /** Name of the signal that ended it, or null. */
  readonly signal: string | null;
  readonly timedOut: boolean;
}

const DEFAULT_MAX_OUTPUT_BYTES = 16 * 1024 * 1024;

/** Feeds `input`, collects all output of `handle`, and waits for its exit. */
export async function collect(handle: ExecHandle, opts: RunOptions): Promise<RunResult> {
  const max = opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  const input = opts.input === undefined ? undefined : handle.write(opts.input).then(() => handle.end());
  // A process may exit without reading its stdin; that is its business, not an error here.
  input?.catch(() => undefined);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let total = 0;
  for await (const chunk of handle.output) {
    total += chunk.data.byteLength;
    if (total > max) {
      handle.signal('SIGKILL');
      throw new AgentError('resource_exhausted', `output passed maxOutputBytes (${max}); stream it with exec() instead`);
    }
    (chunk.fd === 1 ? out : err).push(chunk.data);
  }
  const exit = await handle.wait();
  opts.signal?.throwIfAborted();
  return {
    stdout: Buffer.concat(out),
    stderr: Buffer.concat(err),
    exitCode: exit.exitCode,
    signal: exit.signal,
    timedOut: exit.timedOut,
  };
}
