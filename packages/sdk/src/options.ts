import type { EgressPolicy } from '@shed/protocol';
import type { CallOptions } from './transport.js';

/**
 * Options of Shed.connect: a unix socket, or a URL of shedd's TCP listener with its token.
 * Without either: $SHED_HOST (with $SHED_TOKEN) when set, else $SHED_SOCKET, else
 * /run/shed/shed.sock.
 */
export interface ConnectOptions extends CallOptions {
  /** shedd's unix socket. @default $SHED_SOCKET, else /run/shed/shed.sock */
  socketPath?: string;
  /** shedd's TCP listener, e.g. 'http://127.0.0.1:7420' (a bare HOST:PORT means http). @default $SHED_HOST */
  url?: string;
  /** The bearer token for `url`. @default $SHED_TOKEN */
  token?: string;
}

/** Options of sandboxes.create. */
export interface CreateOptions extends CallOptions {
  /** Image name or digest. @default 'default' (the built-in busybox image) */
  image?: string;
  /** Unique per host. @default none */
  name?: string;
  /** @default the name, else the id */
  hostname?: string;
  /** @default 512 */
  memoryMiB?: number;
  /** Thousandths of a core. @default 1000 */
  cpuMillis?: number;
  /** @default 512 */
  pidsMax?: number;
  /** 'none': loopback only; 'nat': an address on the host's bridge, out through NAT. @default 'none' */
  network?: 'none' | 'nat';
  /** With 'nat': what it may reach (allow/deny `CIDR[:PORT]`, allowHost, allowSandboxes). @default anywhere but the host and other sandboxes */
  egress?: EgressPolicy;
  /** Environment of every command. @default {} */
  env?: Record<string, string>;
  /** @default {} */
  labels?: Record<string, string>;
  /** A retried create with the same key returns the first one's sandbox. @default none */
  idempotencyKey?: string;
  /** Absolute lifetime in seconds, counted from creation; then `onExpire` applies. @default none */
  ttlSeconds?: number;
  /** Expires after this many seconds with no API activity and no process but PID 1. @default none */
  idleTimeoutSeconds?: number;
  /** What expiry does. @default 'delete' when the TTL ends, 'stop' when idle */
  onExpire?: 'stop' | 'delete';
  /**
   * Host ports shedd listens on while the sandbox runs, each forwarded to `port` in the
   * sandbox. `hostIp` defaults to 127.0.0.1; another address exposes the port to that network.
   * A host port in use fails the create with `failed_precondition`. @default none
   */
  ports?: { hostPort: number; port: number; hostIp?: string }[];
}

/** Options of shed.prune. */
export interface PruneOptions extends CallOptions {
  /** Also remove images no sandbox uses. @default false */
  images?: boolean;
}

interface CommandOptions extends CallOptions {
  /** On top of the image's and the sandbox's. @default {} */
  env?: Record<string, string>;
  /** Absolute path. @default the image's working directory */
  cwd?: string;
  /** @default 0 */
  uid?: number;
  /** @default 0 */
  gid?: number;
  /** SIGKILL the process after this long; 0 = never. @default 0 */
  timeoutMs?: number;
}

/** Options of sandbox.exec. */
export interface ExecOptions extends CommandOptions {
  /** Written to stdin, then EOF. @default none (stdin is /dev/null) */
  stdin?: string | Uint8Array;
  /** Past this much output the process is killed and the result marked truncated. @default 16777216 */
  maxOutputBytes?: number;
}

/** Options of sandbox.spawn. */
export interface SpawnOptions extends CommandOptions {
  /** Give the process a stdin pipe for write()/end(). @default false */
  stdin?: boolean;
}

/** Options of sandbox.stop. */
export interface StopOptions extends CallOptions {
  /** SIGTERM, then SIGKILL after this long. @default 10000 */
  graceMs?: number;
}

/** Options of sandbox.snapshot. */
export interface SnapshotOptions extends CallOptions {
  /**
   * Also capture process memory. Rejects with `unimplemented` where the host cannot (the
   * message says why and what it needs; `shed doctor` shows the memory-snapshots capability).
   * @default false
   */
  memory?: boolean;
}

/** Options of sandboxes.fork. */
export interface ForkOptions extends CallOptions {
  /** How many sandboxes, 1 to 32. @default 1 (or the number of names) */
  count?: number;
  /** One name per fork. @default none */
  names?: string[];
  /** Each fork's network; 'nat' forks each get their own address. @default 'none' */
  network?: 'none' | 'nat';
  /** With 'nat': what the forks may reach. @default anywhere but the host and other sandboxes */
  egress?: EgressPolicy;
}

/** Options of sandboxes.list. */
export interface ListOptions extends CallOptions {
  /** Only sandboxes carrying all of these labels. @default {} */
  labels?: Record<string, string>;
  /** Also free warm pool members. @default false */
  all?: boolean;
}

/** Options of shed.pools.set: exactly one of image and snapshot. */
export interface PoolOptions extends CallOptions {
  /** Image name or digest. */
  image?: string;
  /** A snapshot id: members are forks of it. */
  snapshot?: string;
  /** @default 512 */
  memoryMiB?: number;
  /** @default 1000 */
  cpuMillis?: number;
  /** @default 512 */
  pidsMax?: number;
  /** 'nat': members get the default egress policy. @default 'none' */
  network?: 'none' | 'nat';
  /** Free members restored first; the budget must cover them. @default 0 */
  min?: number;
  /** Free members kept ready. @default max(1, min) */
  targetFree?: number;
  /** Most members at once. @default max(4, targetFree) */
  max?: number;
  /** The members' memory limits together never exceed it. @default max × memoryMiB */
  memoryBudgetMiB?: number;
}

/** Options of sandbox.shell. */
export interface ShellOptions extends CallOptions {
  /** @default 80 */
  cols?: number;
  /** @default 24 */
  rows?: number;
  /** Program and arguments. @default the image's shell ($SHELL, else the user's login shell, else /bin/sh) */
  cmd?: readonly string[];
  /** On top of the image's and the sandbox's. @default {} */
  env?: Record<string, string>;
  /** TERM of the process. @default 'xterm-256color' */
  term?: string;
  /** Absolute path. @default the image's working directory */
  cwd?: string;
  /** false: pipes instead of a terminal (stdout and stderr arrive merged, `end()` closes stdin). @default true */
  tty?: boolean;
}

/** Options of sandbox.attachTerminal. */
export interface AttachTerminalOptions extends CallOptions {
  /** Replay output from this offset (a previous terminal's `offset`). @default where the last reader stopped */
  offset?: number;
}

export interface AttachOptions extends CallOptions {
  /**
   * Read output from this offset: a previous handle's `offset`, or `outputBytes` of
   * `processes()` to read only what comes next. @default the oldest output the agent still holds
   */
  offset?: number;
}
