// Runs a host tool (the OCI runtime, mount, umount) and turns its failure into a ShedError
// carrying its stderr: the tool's own words are usually the best hint for a fix.
import { spawn, type StdioOptions } from 'node:child_process';
import { ShedError, type ErrorCode } from '../../core/errors.js';

export interface CommandResult {
  readonly stdout: string;
  readonly stderr: string;
}

export interface CommandOptions {
  signal?: AbortSignal;
  /** Kill the tool (SIGKILL) after this long. @default 30000 */
  timeoutMs?: number;
  /** File descriptors for the child's stdout and stderr instead of pipes (for a detached container's stdio). */
  outputFd?: number;
  /** Error code when the tool fails. @default 'internal' */
  errorCode?: ErrorCode;
}

export class CommandError extends ShedError {
  readonly exitCode: number | null;
  readonly stderr: string;
  constructor(code: ErrorCode, message: string, exitCode: number | null, stderr: string, cause?: unknown) {
    super(code, message, { cause, details: { exitCode, stderr } });
    this.exitCode = exitCode;
    this.stderr = stderr;
  }
}

/** Runs `file args…` to completion; rejects with a CommandError unless it exits 0. */
export function runCommand(file: string, args: readonly string[], opts: CommandOptions = {}): Promise<CommandResult> {
  const code = opts.errorCode ?? 'internal';
  const stdio: StdioOptions = opts.outputFd === undefined ? ['ignore', 'pipe', 'pipe'] : ['ignore', opts.outputFd, opts.outputFd];
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio, signal: opts.signal, timeout: opts.timeoutMs ?? 30_000, killSignal: 'SIGKILL' });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => void (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => void (stderr += d));
    child.once('error', (err) => reject(new CommandError(code, `${file} ${args[0] ?? ''} could not run: ${err.message}`, null, stderr, err)));
    child.once('close', (exit, sig) => {
      if (exit === 0) return resolve({ stdout, stderr });
      const why = sig !== null ? `was killed by ${sig}` : `exited with ${exit}`;
      const said = stderr.trim() === '' ? '' : `: ${stderr.trim()}`;
      reject(new CommandError(code, `${file} ${args.join(' ')} ${why}${said}`, exit, stderr));
    });
  });
}
