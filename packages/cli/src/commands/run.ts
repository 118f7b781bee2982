import type { ProcessExit, Sandbox } from '@shed/sdk';
import { constants } from 'node:os';
import { connect, type GlobalOptions } from '../connect.js';
import { expiryOptions, type ExpiryFlags } from '../expiry-flags.js';
import { pairs } from '../output.js';

export interface RunFlags extends ExpiryFlags {
  rm?: boolean;
  name?: string;
  env?: string[];
  memoryMib?: string;
  interactive?: boolean;
  cwd?: string;
}

/** `shed run [--rm] IMAGE -- CMD…`: create, run with streamed output, exit with the command's status. */
export async function runCommand(image: string, argv: string[], flags: RunFlags, g: GlobalOptions): Promise<number> {
  const shed = await connect(g);
  try {
    const sb = await shed.sandboxes.create({
      image,
      ...(flags.name === undefined ? {} : { name: flags.name }),
      ...(flags.memoryMib === undefined ? {} : { memoryMiB: Number(flags.memoryMib) }),
      ...expiryOptions(flags),
    });
    const remove = flags.rm === true ? () => sb.delete().catch(() => undefined) : undefined;
    const onSignal = (): void => void remove?.().finally(() => process.exit(130));
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      return await streamCommand(sb, argv, { env: pairs(flags.env, 'env'), interactive: flags.interactive === true, cwd: flags.cwd });
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await remove?.();
    }
  } finally {
    shed.close();
  }
}

/** Runs `argv`, copying its output to ours as it comes (and our stdin to it with -i); returns the exit status. */
export async function streamCommand(
  sb: Sandbox, argv: string[], opts: { env: Record<string, string>; interactive: boolean; cwd?: string | undefined },
): Promise<number> {
  const p = await sb.spawn(argv, { env: opts.env, stdin: opts.interactive, ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }) });
  const feeding = opts.interactive ? feedStdin(p) : Promise.resolve();
  await Promise.all([copy(p.stdout, process.stdout), copy(p.stderr, process.stderr)]);
  const exit = await p.wait();
  await feeding.catch(() => undefined);
  return exitStatus(exit);
}

async function feedStdin(p: { write(b: Uint8Array): Promise<void>; end(): Promise<void> }): Promise<void> {
  for await (const chunk of process.stdin) await p.write(chunk as Buffer); // stdin yields Buffers without an encoding.
  await p.end();
}

export async function copy(from: AsyncIterable<Buffer>, to: NodeJS.WriteStream): Promise<void> {
  for await (const chunk of from) {
    if (!to.write(chunk)) await new Promise<void>((resolve) => to.once('drain', resolve));
  }
}

/** A shell's convention: the exit code, or 128 + the signal number. */
export function exitStatus(exit: ProcessExit): number {
  if (exit.exitCode !== null) return exit.exitCode;
  const num = exit.signal === null ? undefined : (constants.signals as Record<string, number>)[exit.signal];
  return 128 + (num ?? 1);
}
