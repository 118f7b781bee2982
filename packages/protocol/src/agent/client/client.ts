// AgentClient: the host's side of one agent connection. Every call is a stream on the link.
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { CAPABILITY_BITS, capsToMask, type Capability } from '../caps.js';
import type { Message } from '../codec.js';
import { ProtocolError } from '../errors.js';
import { PROTOCOL_VERSION } from '../header.js';
import { keysOf } from '../keys.js';
import { AgentError } from './agent-error.js';
import { ExecHandle } from './exec.js';
import { Link } from './link.js';
import { FileReader, writeFileStream } from './files.js';
import {
  DEFAULT_WINDOW_BYTES,
  type AttachOptions, type CallOptions, type ConfigureOptions, type ConnectOptions, type ExecOptions, type MkdirOptions,
  type ReadFileOptions, type ReadOptions, type RemoveOptions, type RunOptions, type StatOptions, type TcpConnectOptions,
  type WriteFileOptions,
} from './options.js';
import { request } from './request.js';
import { dirEntry, fileStat, processInfo, readyInfo, type DirEntry, type FileStat, type ProcessInfo, type ReadyInfo } from './results.js';
import { collect, type RunResult } from './run.js';
import { AgentTcpStream } from './tcp.js';
import { envList } from './values.js';

/** Every capability this host implements; HELLO sends their intersection with the agent's. */
const HOST_CAPS: ReadonlySet<Capability> = new Set(keysOf(CAPABILITY_BITS));
const DEFAULT_READY_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_FILE_BYTES = 64 * 1024 * 1024;
// FWRITE flags (docs/protocol.md "Files").
const FWRITE_CREATE = 1;
const FWRITE_TRUNCATE = 2;
const FWRITE_APPEND = 4;
const FWRITE_EXCLUSIVE = 8;

export interface AgentClientEvents {
  /** The connection is gone; every open call has been rejected with this error. */
  disconnect: [AgentError];
}

/** The host side of one agent connection. Build it with `AgentClient.fromDuplex` or an AgentListener. */
export class AgentClient extends EventEmitter<AgentClientEvents> {
  /** What the agent announced in READY, with the capabilities agreed in HELLO. */
  readonly ready: ReadyInfo;
  readonly #link: Link;

  private constructor(link: Link, ready: ReadyInfo) {
    super();
    this.#link = link;
    this.ready = ready;
  }

  /**
   * Speaks the protocol over `duplex` (a unix socket, a VM's serial port): waits for the
   * agent's READY, answers HELLO, and resolves once requests may be sent.
   */
  static fromDuplex(duplex: Duplex, opts: ConnectOptions = {}): Promise<AgentClient> {
    opts.signal?.throwIfAborted();
    return new Promise((resolve, reject) => {
      let client: AgentClient | undefined;
      const settle = (err: unknown): void => {
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        if (client === undefined) reject(err);
      };
      const onAbort = (): void => {
        settle(opts.signal?.reason);
        void link.close();
      };
      const timeoutMs = opts.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
      const timer = setTimeout(() => {
        settle(new AgentError('unavailable', `the agent sent no READY within ${timeoutMs} ms; is it running and connected to this socket?`));
        void link.close();
      }, timeoutMs);
      const link: Link = new Link(duplex, {
        onControl: (msg) => {
          if (client !== undefined) return client.#onControl(msg);
          client = AgentClient.#handshake(link, msg);
          settle(undefined);
          resolve(client);
        },
        onClose: (err) => (client === undefined ? settle(err) : client.#onClose(err)),
      });
      opts.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  static #handshake(link: Link, msg: Message): AgentClient {
    if (msg.type !== 'READY') throw new ProtocolError('unexpected_message', `${msg.type} before READY`);
    if (msg.fields.version !== PROTOCOL_VERSION) {
      throw new ProtocolError('unsupported_version', `agent speaks version ${msg.fields.version}; this host speaks ${PROTOCOL_VERSION}`);
    }
    const ready = readyInfo(msg, HOST_CAPS);
    link.send({ type: 'HELLO', stream: 0, fields: { version: PROTOCOL_VERSION, caps: capsToMask(ready.caps) } });
    return new AgentClient(link, ready);
  }

  /** Aborted when the connection is gone (its reason is the AgentError). */
  get signal(): AbortSignal {
    return this.#link.signal;
  }

  /** Starts a process. Read its output (iterate, or stdout/stderr) or it blocks once the window fills. */
  exec(opts: ExecOptions): ExecHandle {
    this.#need('exec');
    if (opts.pty !== undefined && opts.pty !== false) this.#need('pty');
    if (opts.argv.length === 0) throw new AgentError('invalid_argument', 'exec needs a program: argv is empty');
    const pty = typeof opts.pty === 'object' ? opts.pty : undefined;
    const handle = new ExecHandle(this.#link, {
      outputWindowBytes: opts.windowBytes ?? DEFAULT_WINDOW_BYTES,
      inputWindowBytes: this.ready.inputWindowBytes,
      credit: this.ready.caps.has('credit'),
      gapsAllowed: opts.keep === 'drop-oldest',
      what: `exec ${opts.argv[0] ?? ''}`,
    });
    handle.open((stream) => ({
      type: 'EXEC',
      stream,
      fields: {
        argv: [...opts.argv],
        env: envList(opts.env),
        cwd: opts.cwd,
        uid: opts.uid,
        gid: opts.gid,
        pty: opts.pty === undefined || opts.pty === false ? undefined : 1,
        rows: pty?.rows,
        cols: pty?.cols,
        timeoutMs: opts.timeoutMs,
        bufferBytes: opts.bufferBytes,
        window: opts.windowBytes,
        stdin: opts.stdin === true ? 1 : undefined,
        keep: opts.keep === 'drop-oldest' ? 1 : undefined,
      },
    }));
    killOnAbort(handle, opts.signal);
    return handle;
  }

  /** Follows a process again (after detach or a reconnect), replaying output from `offset`. */
  attach(procId: number, opts: AttachOptions = {}): ExecHandle {
    this.#need('attach');
    opts.signal?.throwIfAborted();
    const handle = new ExecHandle(this.#link, {
      outputWindowBytes: opts.windowBytes ?? DEFAULT_WINDOW_BYTES,
      inputWindowBytes: this.ready.inputWindowBytes,
      credit: this.ready.caps.has('credit'),
      // The process's buffer policy was chosen by whoever started it; with drop-oldest the
      // replay may skip bytes, and this side cannot know which policy it was.
      gapsAllowed: true,
      what: `attach ${procId}`,
    });
    handle.open((stream) => ({
      type: 'ATTACH',
      stream,
      fields: {
        procId,
        offset: opts.offset === undefined ? undefined : BigInt(opts.offset),
        window: opts.windowBytes,
      },
    }));
    opts.signal?.addEventListener('abort', () => handle.detach(), { once: true });
    return handle;
  }

  /** Runs a process to completion and returns its output, buffered. */
  run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    const { input, maxOutputBytes: _max, ...rest } = opts;
    return collect(this.exec({ ...rest, argv, stdin: input !== undefined }), opts);
  }

  /** The agent's processes, running and recently exited. */
  async ps(opts: CallOptions = {}): Promise<ProcessInfo[]> {
    this.#need('attach');
    const r = await request(this.#link, (stream) => ({ type: 'PS', stream, fields: {} }), 'ps', opts.signal);
    return r.entries.map((e) => processInfo(e, 0));
  }

  /** Streams a file's bytes. Leaving the loop early abandons the rest. */
  read(path: string, opts: ReadOptions = {}): AsyncIterable<Buffer> {
    this.#need('files');
    return new FileReader(this.#link, {
      path,
      offset: opts.offset ?? 0,
      lengthBytes: opts.lengthBytes,
      windowBytes: opts.windowBytes ?? DEFAULT_WINDOW_BYTES,
      windowChosen: opts.windowBytes !== undefined,
      credit: this.ready.caps.has('credit'),
      signal: opts.signal,
    }).open();
  }

  /** Reads a whole file into memory. */
  async readFile(path: string, opts: ReadFileOptions = {}): Promise<Buffer> {
    const max = opts.maxBytes ?? DEFAULT_MAX_FILE_BYTES;
    const parts: Buffer[] = [];
    let total = 0;
    for await (const chunk of this.read(path, opts)) {
      total += chunk.byteLength;
      if (total > max) throw new AgentError('resource_exhausted', `${path} is larger than maxBytes (${max}); stream it with read()`);
      parts.push(chunk);
    }
    return Buffer.concat(parts);
  }

  /** Writes a file from bytes, text or a stream of chunks; resolves with the bytes written. */
  async writeFile(path: string, data: string | Uint8Array | AsyncIterable<Uint8Array>, opts: WriteFileOptions = {}): Promise<number> {
    this.#need('files');
    const chunks = typeof data === 'string' ? [Buffer.from(data)] : data instanceof Uint8Array ? [data] : data;
    const flags =
      (opts.create === false ? 0 : FWRITE_CREATE) |
      (opts.append === true ? FWRITE_APPEND : FWRITE_TRUNCATE) |
      (opts.exclusive === true ? FWRITE_EXCLUSIVE : 0);
    return writeFileStream(this.#link, chunks, {
      path,
      mode: opts.mode,
      flags,
      inputWindowBytes: this.ready.caps.has('credit') ? this.ready.inputWindowBytes : Infinity,
      signal: opts.signal,
    });
  }

  async stat(path: string, opts: StatOptions = {}): Promise<FileStat> {
    this.#need('files');
    const flags = opts.followSymlinks === true ? 1 : undefined;
    const r = await request(this.#link, (stream) => ({ type: 'STAT', stream, fields: { path, flags } }), `stat ${path}`, opts.signal);
    return fileStat(r.ok, 0);
  }

  /** A directory's entries (not `.` or `..`); symlinks are described, not followed. */
  async list(path: string, opts: CallOptions = {}): Promise<DirEntry[]> {
    this.#need('files');
    const r = await request(this.#link, (stream) => ({ type: 'LIST', stream, fields: { path } }), `list ${path}`, opts.signal);
    return r.entries.map((e) => dirEntry(e, 0));
  }

  async mkdir(path: string, opts: MkdirOptions = {}): Promise<void> {
    this.#need('files');
    const flags = opts.parents === true ? 1 : undefined;
    await request(this.#link, (stream) => ({ type: 'MKDIR', stream, fields: { path, mode: opts.mode, flags } }), `mkdir ${path}`, opts.signal);
  }

  /** Removes a file, symlink or directory; never follows a symlink. */
  async remove(path: string, opts: RemoveOptions = {}): Promise<void> {
    this.#need('files');
    const flags = opts.recursive === true ? 1 : undefined;
    await request(this.#link, (stream) => ({ type: 'REMOVE', stream, fields: { path, flags } }), `remove ${path}`, opts.signal);
  }

  async rename(from: string, to: string, opts: CallOptions = {}): Promise<void> {
    this.#need('files');
    await request(this.#link, (stream) => ({ type: 'RENAME', stream, fields: { path: from, path2: to } }), `rename ${from}`, opts.signal);
  }

  /** Sets the hostname and the default environment of later execs, in one round trip. */
  async configure(opts: ConfigureOptions): Promise<void> {
    this.#need('configure');
    const fields = { hostname: opts.hostname, env: envList(opts.env) };
    await request(this.#link, (stream) => ({ type: 'CONFIGURE', stream, fields }), 'configure', opts.signal);
  }

  /** One round trip to the agent; resolves with its duration in milliseconds. */
  async ping(opts: CallOptions = {}): Promise<number> {
    const start = performance.now();
    await request(this.#link, (stream) => ({ type: 'PING', stream, fields: {} }), 'ping', opts.signal);
    return performance.now() - start;
  }

  /**
   * Opens a TCP connection to `port` inside the sandbox; resolves once the agent connected.
   * Nothing listening rejects with an AgentError whose errno is `ECONNREFUSED` (code
   * `unavailable`). Ending the writable side half-closes the connection.
   */
  connectTcp(port: number, opts: TcpConnectOptions = {}): Promise<AgentTcpStream> {
    this.#need('tcp');
    if (!Number.isInteger(port) || port < 1 || port > 65_535) {
      throw new AgentError('invalid_argument', `port must be an integer from 1 to 65535, not ${port}`);
    }
    return AgentTcpStream.connect(this.#link, {
      port,
      addr: opts.addr,
      windowBytes: opts.windowBytes ?? DEFAULT_WINDOW_BYTES,
      windowChosen: opts.windowBytes !== undefined,
      credit: this.ready.caps.has('credit'),
      inputWindowBytes: this.ready.caps.has('credit') ? this.ready.inputWindowBytes : Infinity,
    }, opts.signal);
  }

  /** Closes the connection. Processes keep running in the agent, which reconnects. */
  async close(): Promise<void> {
    await this.#link.close();
  }

  /** Throws `failed_precondition` unless the agent and this host agreed on `cap`. */
  #need(cap: Capability): void {
    if (!this.ready.caps.has(cap)) {
      throw new AgentError('failed_precondition', `the agent (${this.ready.agentVersion}) does not offer '${cap}'; update the agent`);
    }
  }

  #onControl(msg: Message): void {
    if (msg.type === 'ERROR') {
      throw new ProtocolError('peer_error', `the agent reported ${msg.fields.errno}: ${msg.fields.message ?? ''}`);
    }
    // READY again is out of turn; anything else on stream 0 belongs to no stream of ours
    // and is ignored like a frame for a closed stream.
    if (msg.type === 'READY') throw new ProtocolError('unexpected_message', 'READY after the handshake');
  }

  #onClose(err: AgentError): void {
    this.emit('disconnect', err);
  }
}

function killOnAbort(handle: ExecHandle, signal: AbortSignal | undefined): void {
  if (signal === undefined) return;
  const kill = (): void => handle.signal('SIGKILL');
  if (signal.aborted) return kill();
  signal.addEventListener('abort', kill, { once: true });
  handle.wait().then(
    () => signal.removeEventListener('abort', kill),
    () => signal.removeEventListener('abort', kill),
  );
}
