import type { Sandbox, ShellOptions, Terminal } from '@shed/sdk';
import { connect, type GlobalOptions } from '../connect.js';
import { UsageError, pairs } from '../output.js';
import { exitStatus } from './run.js';

export interface ShellFlags {
  /** true/false from -t/-T; undefined = a terminal when stdin and stdout are terminals. */
  tty?: boolean;
  env?: string[];
  cwd?: string;
  /** Attach to this running process instead of starting one. */
  attach?: string;
  /** With --attach: replay output from this offset. */
  offset?: string;
}

/** A TERM shedd accepts (api ShellQuery); anything else falls back to shedd's default. */
const TERM_PATTERN = /^[A-Za-z0-9._+-]{1,64}$/;

/**
 * `shed shell ID [-- CMD…]`: an interactive process on a remote terminal. On a local
 * terminal stdin goes raw (every key, ^C included, reaches the remote side) and window
 * size changes follow; with stdin not a terminal it runs on pipes. Exits with the remote
 * status; the local terminal is restored on every way out.
 */
export async function shellCommand(ref: string, argv: string[], flags: ShellFlags, g: GlobalOptions): Promise<number> {
  const shed = await connect(g);
  try {
    const sb = await shed.sandboxes.get(ref);
    const tty = flags.tty ?? (process.stdin.isTTY === true && process.stdout.isTTY === true);
    const t = flags.attach === undefined ? await sb.shell(shellOptions(tty, argv, flags)) : await attach(sb, argv, flags);
    if (tty && flags.attach !== undefined) t.resize(windowSize());
    try {
      return await runTerminal(t, tty);
    } catch (err) {
      // The process outlives a lost connection: say how to get back to it.
      process.stderr.write(`shed: to attach again: shed shell --attach ${t.procId} --offset ${t.offset} ${ref}\n`);
      throw err;
    }
  } finally {
    shed.close();
  }
}

async function attach(sb: Sandbox, argv: string[], flags: ShellFlags): Promise<Terminal> {
  if (argv.length > 0) throw new UsageError('--attach follows a running process; give no command');
  const procId = integer(flags.attach, '--attach');
  return sb.attachTerminal(procId, flags.offset === undefined ? {} : { offset: integer(flags.offset, '--offset') });
}

function integer(v: string | undefined, what: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new UsageError(`${what} takes a whole number, not '${v ?? ''}'`);
  return n;
}

function shellOptions(tty: boolean, argv: string[], flags: ShellFlags): ShellOptions {
  const term = process.env['TERM'];
  return {
    tty,
    ...(argv.length > 0 ? { cmd: argv } : {}),
    ...(tty ? windowSize() : {}),
    ...(tty && term !== undefined && TERM_PATTERN.test(term) ? { term } : {}),
    env: pairs(flags.env, 'env'),
    ...(flags.cwd === undefined ? {} : { cwd: flags.cwd }),
  };
}

function windowSize(): { cols: number; rows: number } {
  const out = process.stdout;
  return out.isTTY && out.columns > 0 && out.rows > 0 ? { cols: out.columns, rows: out.rows } : { cols: 80, rows: 24 };
}

async function runTerminal(t: Terminal, tty: boolean): Promise<number> {
  const stdin = process.stdin;
  const raw = tty && stdin.isTTY;
  const onResize = (): void => t.resize(windowSize());
  const restore = (): void => {
    if (raw) stdin.setRawMode(false);
  };
  if (raw) stdin.setRawMode(true);
  // A crash or an exit() elsewhere must not leave the user's terminal raw.
  process.once('exit', restore);
  // Killed or hung up locally: put the terminal back and leave the remote process running
  // (it can be attached again); 128 + the signal, like a shell.
  const onSignal = (sig: NodeJS.Signals): void => {
    restore();
    t.detach();
    process.exit(128 + (sig === 'SIGHUP' ? 1 : 15));
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGHUP', onSignal);
  // Node turns SIGWINCH into 'resize' on a terminal stdout.
  process.stdout.on('resize', onResize);
  const feeding = feed(stdin, t);
  try {
    await copyOut(t);
    return exitStatus(await t.wait());
  } finally {
    process.stdout.off('resize', onResize);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
    restore();
    process.off('exit', restore);
    stdin.destroy(); // so node exits: nothing reads our stdin any more
    await feeding.catch(() => undefined);
  }
}

/** Our stdin to the remote process, at the pace the connection takes it; EOF becomes `end()`. */
async function feed(stdin: NodeJS.ReadStream, t: Terminal): Promise<void> {
  for await (const chunk of stdin) await t.write(chunk as Buffer); // stdin yields Buffers without an encoding
  await t.end();
}

async function copyOut(t: Terminal): Promise<void> {
  const out = process.stdout;
  for await (const chunk of t) {
    if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', resolve));
  }
}
