// The host floor: the same commands spawned directly with child_process.
import { spawn } from 'node:child_process';

export interface HostRun {
  readonly exitCode: number | null;
  readonly stdoutBytes: number;
  readonly stdout: Buffer | undefined;
}

/** Spawns argv, counts (and with `keep`, keeps) its stdout, resolves on close. */
export function hostRun(argv: readonly string[], keep = false): Promise<HostRun> {
  return new Promise((resolve, reject) => {
    const [cmd, ...args] = argv;
    if (cmd === undefined) return reject(new RangeError('empty argv'));
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    const parts: Buffer[] = [];
    let n = 0;
    child.stdout.on('data', (c: Buffer) => {
      n += c.length;
      if (keep) parts.push(c);
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ exitCode: code, stdoutBytes: n, stdout: keep ? Buffer.concat(parts) : undefined }));
  });
}
