// Runs ip, nft, unshare and umount: the Debian tools that own the kernel interfaces, fed
// batches so one spawn does many changes (`ip -batch -`, `nft -f -`): on stdin through Node's
// spawn, or from a file through the driver's helper (runBatch).
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ShedError } from '../core/errors.js';
import type { ProgramRunner } from '../core/network.js';

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

/**
 * Runs one command through `runner` when there is one, its output appended to `logPath` and
 * read back for the error; else through Node's spawn.
 */
export async function runCommand(what: string, argv: readonly string[], where: { readonly runner: ProgramRunner | undefined; readonly logPath: string }): Promise<void> {
  const [cmd = '', ...args] = argv;
  if (where.runner === undefined) {
    await mustRun(what, cmd, args);
    return;
  }
  const r = await where.runner.run(argv, where.logPath);
  if (r.exitCode !== 0) {
    const out = await readFile(where.logPath, 'utf8').catch(() => '');
    const how = r.exitCode === null ? `was killed by signal ${r.signal}` : `exited ${r.exitCode}`;
    throw new ShedError('internal', `${what}: ${cmd} ${how}: ${out.trim().split('\n').slice(-3).join('; ')}`, { details: { argv: argv.join(' ').slice(0, 2000) } });
  }
}

/** A batch for one tool: `cmd …args, file` reads `text` from a file (`ip -batch F`, `nft -f F`, `sh F`). */
export interface Batch {
  readonly cmd: string;
  readonly args: readonly string[];
  readonly text: string;
}

/**
 * Runs a batch through `runner` when there is one (no fork of the daemon, no blocked event
 * loop): the text goes to `<dir>/<name>.in`, the output to `<dir>/<name>.log`, read back for
 * the error. Without a runner: Node's spawn, the text on stdin. Both files stay in `dir`
 * (removed with it), so a failure can be looked at.
 */
export async function runBatch(what: string, b: Batch, where: { readonly runner: ProgramRunner | undefined; readonly dir: string; readonly name: string }): Promise<void> {
  if (where.runner === undefined) {
    await mustRun(what, b.cmd, [...b.args, '-'], b.text);
    return;
  }
  const input = join(where.dir, `${where.name}.in`);
  const log = join(where.dir, `${where.name}.log`);
  writeFileSync(input, b.text, { mode: 0o600 }); // a small file: cheaper than a thread-pool round trip
  const r = await where.runner.run([b.cmd, ...b.args, input], log);
  if (r.exitCode !== 0) {
    const out = await readFile(log, 'utf8').catch(() => '');
    const how = r.exitCode === null ? `was killed by signal ${r.signal}` : `exited ${r.exitCode}`;
    throw new ShedError('internal', `${what}: ${b.cmd} ${b.args.join(' ')} ${input} ${how}: ${out.trim().split('\n').slice(-3).join('; ')}`, {
      details: { input: b.text.slice(0, 2000) },
    });
  }
}
