/**
 * What core uses of a sandbox's agent link. `AgentClient` (@shed/protocol) provides it;
 * core names only the calls it makes, so unit tests can fake the agent and the service
 * does not depend on the client's internals.
 */
import type { ProcessInfo } from '@shed/protocol';
import type { Duplex } from 'node:stream';

/** One piece of a process's output; `offset` is its place in the process's output sequence. */
export interface AgentOutputChunk {
  readonly fd: 1 | 2;
  readonly data: Buffer;
  readonly offset: number;
}

export interface AgentStarted {
  readonly procId: number;
  readonly pid: number;
  /** Output offset this stream starts at. */
  readonly offset: number;
}

export interface AgentExit {
  /** Exit status, or null when a signal ended the process. */
  readonly exitCode: number | null;
  /** Name of the signal that ended it (`SIGKILL`), or null. */
  readonly signal: string | null;
  readonly timedOut: boolean;
  /** Length of the whole output sequence. */
  readonly outputBytes: number;
}

/** A process stream (exec or attach). Output credit follows what is read from `output`. */
export interface AgentProcess {
  readonly started: Promise<AgentStarted>;
  readonly output: AsyncIterable<AgentOutputChunk>;
  write(data: Uint8Array, opts?: { signal?: AbortSignal }): Promise<void>;
  end(): Promise<void>;
  signal(sig: NodeJS.Signals | number): void;
  /** Tells the process's pty its new size (it gets SIGWINCH). */
  resize(size: TerminalSize): void;
  /** Stops following the process; it keeps running. */
  detach(): void;
  /** Resolves after the process ended and all its output reached this stream. */
  wait(): Promise<AgentExit>;
}

export interface AgentExecOptions {
  argv: readonly string[];
  env?: Readonly<Record<string, string>>;
  cwd?: string;
  uid?: number;
  gid?: number;
  timeoutMs?: number;
  stdin?: boolean;
  /** Run on a pseudo-terminal of this size (stdout and stderr merge). @default pipes */
  pty?: TerminalSize;
  signal?: AbortSignal;
}

export interface TerminalSize {
  readonly rows: number;
  readonly cols: number;
}

export type AgentFileType = 'file' | 'directory' | 'symlink' | 'char-device' | 'block-device' | 'fifo' | 'socket';

export interface AgentFileStat {
  readonly type: AgentFileType;
  /** Permission bits (and the type bits of st_mode). */
  readonly mode: number;
  readonly sizeBytes: number;
  readonly uid: number;
  readonly gid: number;
  readonly mtimeNs: bigint;
  /** A symlink's target. */
  readonly target?: string;
}

export interface AgentDirEntry {
  readonly name: string;
  readonly type: AgentFileType;
  readonly mode: number;
  readonly sizeBytes: number;
  readonly mtimeNs: bigint;
  readonly target?: string;
}

/** A process the agent keeps (running, or exited with its output still held): the client's own type. */
export type AgentProcessInfo = ProcessInfo;

export interface AgentCallOptions {
  signal?: AbortSignal;
}

export interface AgentPort {
  exec(opts: AgentExecOptions): AgentProcess;
  attach(procId: number, opts?: AgentCallOptions & { offset?: number }): AgentProcess;
  /** The processes the agent keeps, buffered execs included. */
  ps(opts?: AgentCallOptions): Promise<AgentProcessInfo[]>;
  read(path: string, opts?: AgentCallOptions): AsyncIterable<Buffer>;
  /** Resolves with the bytes written. */
  writeFile(path: string, data: AsyncIterable<Uint8Array>, opts?: AgentCallOptions & { mode?: number; append?: boolean }): Promise<number>;
  stat(path: string, opts?: AgentCallOptions & { followSymlinks?: boolean }): Promise<AgentFileStat>;
  list(path: string, opts?: AgentCallOptions): Promise<AgentDirEntry[]>;
  mkdir(path: string, opts?: AgentCallOptions & { parents?: boolean; mode?: number }): Promise<void>;
  remove(path: string, opts?: AgentCallOptions & { recursive?: boolean }): Promise<void>;
  rename(from: string, to: string, opts?: AgentCallOptions): Promise<void>;
  /** Sets the hostname and the default environment of later execs, in one round trip (a pool claim). */
  configure(opts: AgentCallOptions & { hostname?: string; env?: Readonly<Record<string, string>> }): Promise<void>;
  /**
   * A TCP connection to `port` inside the sandbox, carried by the agent; resolves once it is
   * connected. Nothing listening rejects with errno ECONNREFUSED (code `unavailable`).
   */
  connectTcp(port: number, opts?: AgentCallOptions & { addr?: string }): Promise<Duplex>;
  close(): Promise<void>;
  /** Aborted once the link is gone: the agent died, or `close()`. The service watches it (core/liveness.ts). */
  readonly signal: AbortSignal;
}
