import type { AgentPort, TerminalSize } from './agent-port.js';
import type { LiveSandbox } from './live-sandbox.js';
import type { CommandSpec, SandboxCommands } from './sandbox-commands.js';
import type { SandboxService } from './sandbox-service.js';
import type { SpawnedProcess } from './spawned-process.js';

/** An interactive process: a shell by default. */
export interface ShellCommand extends Omit<CommandSpec, 'argv' | 'signal'> {
  /** @default the image's shell: $SHELL of the sandbox, else the user's /etc/passwd shell, else /bin/sh */
  argv?: readonly string[];
  /** TERM of the process (the client's terminal type). @default 'xterm-256color' */
  term?: string;
  /** A pty of this size; `false` runs on pipes with stdin (stdout and stderr stay separate events). @default 80x24 */
  pty?: TerminalSize | false;
}

/** Bytes of /etc/passwd read at most to find a login shell: a larger one is not a real image's. */
const PASSWD_MAX_BYTES = 1_048_576;
const FALLBACK_SHELL = '/bin/sh';

/**
 * Starts interactive processes. They are spawned processes like any other (reattachable by
 * procId, visible to the processes routes), on a pty, and they outlive the connection that
 * started them: nothing here ties them to a caller's lifetime.
 */
export class SandboxShells {
  readonly #sandboxes: SandboxService;
  readonly #commands: SandboxCommands;

  constructor(sandboxes: SandboxService, commands: SandboxCommands) {
    this.#sandboxes = sandboxes;
    this.#commands = commands;
  }

  async start(ref: string, cmd: ShellCommand): Promise<SpawnedProcess> {
    const { live } = this.#sandboxes.live(ref);
    const argv = cmd.argv ?? [await defaultShell(live, cmd.uid ?? 0)];
    const { term = 'xterm-256color', pty = { rows: 24, cols: 80 }, ...rest } = cmd;
    return this.#commands.spawn(ref, {
      ...rest,
      argv,
      env: { TERM: term, ...cmd.env },
      ...(pty === false ? { stdin: true } : { pty }),
    });
  }
}

/** The sandbox's $SHELL, else `uid`'s login shell when it exists in the image, else /bin/sh. */
export async function defaultShell(live: LiveSandbox, uid: number): Promise<string> {
  const fromEnv = live.defaults.env['SHELL'];
  if (fromEnv !== undefined && fromEnv.startsWith('/')) return fromEnv;
  const login = await loginShell(live.agent, uid);
  return login ?? FALLBACK_SHELL;
}

async function loginShell(agent: AgentPort, uid: number): Promise<string | undefined> {
  try {
    const passwd = await readBounded(agent, '/etc/passwd', PASSWD_MAX_BYTES);
    const shell = passwdShell(passwd, uid);
    if (shell === undefined) return undefined;
    const st = await agent.stat(shell, { followSymlinks: true });
    return st.type === 'file' && (st.mode & 0o111) !== 0 ? shell : undefined;
  } catch {
    // No /etc/passwd, no entry, or a shell that is not there: the fallback is the answer.
    return undefined;
  }
}

/** The 7th field of the line whose 3rd field is `uid` (passwd(5)). */
export function passwdShell(passwd: string, uid: number): string | undefined {
  for (const line of passwd.split('\n')) {
    const f = line.split(':');
    if (f.length >= 7 && f[2] === String(uid) && f[6]?.startsWith('/') === true) return f[6];
  }
  return undefined;
}

async function readBounded(agent: AgentPort, path: string, maxBytes: number): Promise<string> {
  const parts: Buffer[] = [];
  let total = 0;
  for await (const chunk of agent.read(path)) {
    total += chunk.byteLength;
    if (total > maxBytes) break;
    parts.push(chunk);
  }
  return Buffer.concat(parts).toString('utf8');
}
