// Runs ip, nft, unshare and umount: the Debian tools that own the kernel interfaces, fed
// batches on stdin so one spawn does many changes (`ip -batch -`, `nft -f -`).
import { spawn } from 'node:child_process';
import { ShedError } from '../core/errors.js';

export interface ToolResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `cmd args…` with `input` on stdin; never rejects for a non-zero exit (see mustRun). */
export function runTool(cmd: string, args: readonly string[], input = ''): Promise<ToolResult> {
  return new Promise((done, fail) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.once('error', (err: NodeJS.ErrnoException) => {
      fail(new ShedError(err.code === 'ENOENT' ? 'failed_precondition' : 'internal',
        err.code === 'ENOENT' ? `${cmd} is not installed (apt-get install ${cmd === 'nft' ? 'nftables' : cmd === 'ip' ? 'iproute2' : 'util-linux'})` : `${cmd} failed to start: ${err.message}`,
        { cause: err }));
    });
    child.once('close', (code) => done({ exitCode: code ?? -1, stdout, stderr }));
    child.stdin.on('error', () => undefined); // a tool that exits early closes its stdin; its exit code says why
    child.stdin.end(input);
  });
}

/** runTool, failing with `internal` and the tool's message on a non-zero exit. */
export async function mustRun(what: string, cmd: string, args: readonly string[], input = ''): Promise<string> {
  const r = await runTool(cmd, args, input);
  if (r.exitCode !== 0) {
    throw new ShedError('internal', `${what}: ${cmd} ${args.join(' ')} exited ${r.exitCode}: ${r.stderr.trim().split('\n').slice(0, 3).join('; ')}`, {
      details: { input: input.slice(0, 2000) },
    });
  }
  return r.stdout;
}
