// Option and result types of AgentClient calls, each declared once.

/** Options every call accepts. */
export interface CallOptions {
  /** Aborting rejects the call with the signal's reason and abandons its stream. */
  signal?: AbortSignal;
}

export interface ConnectOptions extends CallOptions {
  /** How long to wait for the agent's READY after the connection is up. @default 10000 */
  readyTimeoutMs?: number;
}

/** Window the agent uses for output when a request does not name one (docs/protocol.md). */
export const DEFAULT_WINDOW_BYTES = 262_144;

export interface ExecOptions {
  /** Program and arguments; a program without `/` is looked up in the process's PATH. */
  argv: readonly string[];
  /** Variables added on top of the defaults set by `configure`. @default {} */
  env?: Readonly<Record<string, string>>;
  /** Working directory. @default '/' */
  cwd?: string;
  /** @default 0 */
  uid?: number;
  /** @default 0 */
  gid?: number;
  /** Run on a pseudo-terminal (stdout and stderr merge into stdout). @default false */
  pty?: boolean | { rows: number; cols: number };
  /** SIGKILL the process group after this long; 0 = never. @default 0 */
  timeoutMs?: number;
  /** Size of the agent's output ring for this process. @default the agent's (1 MiB) */
  bufferBytes?: number;
  /** Output flow-control window, 65,536 … 16,777,216. @default 262144 */
  windowBytes?: number;
  /** Give the process a stdin pipe fed by `write`/`end`; otherwise stdin is /dev/null. @default false */
  stdin?: boolean;
  /** When the output ring is full of unread bytes: `block` the process or `drop-oldest`. @default 'block' */
  keep?: 'block' | 'drop-oldest';
  /** Aborting sends SIGKILL to the process group; `wait()` then reports it. */
  signal?: AbortSignal;
}

export interface RunOptions extends Omit<ExecOptions, 'argv' | 'stdin'> {
  /** Written to the process's stdin, followed by EOF. @default none: stdin is /dev/null */
  input?: string | Uint8Array;
  /** Kill the process and reject with `resource_exhausted` past this much output. @default 16777216 */
  maxOutputBytes?: number;
}

export interface AttachOptions extends CallOptions {
  /** Output offset to replay from. @default the oldest byte the agent still holds */
  offset?: number;
  /** Output flow-control window. @default 262144 */
  windowBytes?: number;
}

export interface ReadOptions extends CallOptions {
  /** File position to start at. @default 0 */
  offset?: number;
  /** Bytes to read at most. @default to the end of the file */
  lengthBytes?: number;
  /** Flow-control window. @default 262144 */
  windowBytes?: number;
}

export interface ReadFileOptions extends ReadOptions {
  /** Reject with `resource_exhausted` when the file is larger. @default 67108864 */
  maxBytes?: number;
}

export interface WriteFileOptions extends CallOptions {
  /** Permission bits of a created file. @default 0o644 */
  mode?: number;
  /** Create the file when missing. @default true */
  create?: boolean;
  /** Append instead of truncating. @default false */
  append?: boolean;
  /** Fail with `already_exists` when the file exists. @default false */
  exclusive?: boolean;
}

export interface StatOptions extends CallOptions {
  /** Describe a symlink's target instead of the link. @default false */
  followSymlinks?: boolean;
}

export interface MkdirOptions extends CallOptions {
  /** Create missing parents; an existing directory is not an error. @default false */
  parents?: boolean;
  /** @default 0o755 */
  mode?: number;
}

export interface RemoveOptions extends CallOptions {
  /** Remove a directory and its contents (never following symlinks). @default false */
  recursive?: boolean;
}

export interface ConfigureOptions extends CallOptions {
  hostname?: string;
  /** Replaces the default environment of every later exec. */
  env?: Readonly<Record<string, string>>;
}

export interface TcpConnectOptions extends CallOptions {
  /**
   * IP address inside the sandbox to connect to. @default 127.0.0.1, then ::1 when
   * 127.0.0.1 refuses (servers bound to "localhost" may listen on ::1 only)
   */
  addr?: string;
  /** Flow-control window for sandbox→host bytes, 65,536 … 16,777,216. @default 262144 */
  windowBytes?: number;
}
