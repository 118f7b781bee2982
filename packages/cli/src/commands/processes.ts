// `shed ps`, `shed attach`, `shed kill`: the processes a sandbox's agent keeps. They outlive
// the client that started them (and shedd restarts), so a lost `shed exec` can be picked up.
import type { ProcessEntry } from '@shed/sdk';
import { connect, type GlobalOptions } from '../connect.js';
import { printJson, table, UsageError } from '../output.js';
import { copy, exitStatus } from './run.js';

export async function psCommand(ref: string, g: GlobalOptions): Promise<number> {
  const shed = await connect(g);
  try {
    const procs = await (await shed.sandboxes.get(ref)).processes();
    if (g.json === true) printJson(procs);
    else process.stdout.write(table(['PROC', 'PID', 'STATE', 'EXIT', 'OUTPUT', 'COMMAND'], procs.map(row)));
    return 0;
  } finally {
    shed.close();
  }
}

function row(p: ProcessEntry): string[] {
  const exit = p.state === 'running' ? '' : (p.signal ?? String(p.exitCode ?? ''));
  return [String(p.procId), String(p.pid), p.state, exit, String(p.outputBytes), p.argv.join(' ')];
}

/** Streams a process's output from `offset` and exits with its status, like the exec that started it. */
export async function attachCommand(ref: string, procId: string, f: { offset?: string }, g: GlobalOptions): Promise<number> {
  const shed = await connect(g);
  try {
    const sb = await shed.sandboxes.get(ref);
    const p = await sb.attach(whole(procId, 'process id'), f.offset === undefined ? {} : { offset: whole(f.offset, '--offset') });
    await Promise.all([copy(p.stdout, process.stdout), copy(p.stderr, process.stderr)]);
    return exitStatus(await p.wait());
  } finally {
    shed.close();
  }
}

export async function killCommand(ref: string, procId: string, f: { signal?: string }, g: GlobalOptions): Promise<number> {
  const shed = await connect(g);
  try {
    const sb = await shed.sandboxes.get(ref);
    const sig = f.signal ?? 'SIGTERM';
    await sb.kill(whole(procId, 'process id'), /^\d+$/.test(sig) ? Number(sig) : sig.startsWith('SIG') ? sig : `SIG${sig}`);
    return 0;
  } finally {
    shed.close();
  }
}

function whole(s: string, what: string): number {
  if (!/^\d+$/.test(s)) throw new UsageError(`${what} '${s}' must be a whole number`);
  return Number(s);
}
