import { spawn } from 'node:child_process';
import { ShedError } from '../core/errors.js';

export interface ToolResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The last few KiB of stderr and stdout, for error messages. */
  readonly output: string;
}

/**
 * Runs a host tool (skopeo, debootstrap) to completion, keeping the tail of its output. An
 * abort kills the process shed started, by its handle, and rejects with the abort reason.
 */
export function runTool(bin: string, args: readonly string[], opts: { signal?: AbortSignal; pkg: string }): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    opts.signal?.throwIfAborted();
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (d: Buffer) => (output = (output + d.toString()).slice(-8192));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const onAbort = () => child.kill('SIGKILL');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (err) => {
      opts.signal?.removeEventListener('abort', onAbort);
      reject(new ShedError('failed_precondition', `cannot run '${bin}'; install Debian's ${opts.pkg} package`, { cause: err }));
    });
    child.on('close', (code, signal) => {
      opts.signal?.removeEventListener('abort', onAbort);
      if (opts.signal?.aborted) reject(opts.signal.reason);
      else resolve({ code, signal, output });
    });
  });
}
