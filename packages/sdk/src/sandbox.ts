import type { DiffResponse, ProcessEntry, ProcessExit, SandboxInfo, SnapshotResponse } from '@shed/protocol';
import { ROUTES, routePath } from '@shed/protocol/client';
import { ShedApiError } from './errors.js';
import { SandboxFiles } from './files.js';
import { SandboxPorts } from './ports.js';
import type { AttachOptions, AttachTerminalOptions, ExecOptions, ShellOptions, SnapshotOptions, SpawnOptions, StopOptions } from './options.js';
import { SandboxProcess } from './process.js';
import { asDiff, asExec, asProcessList, asSandbox, asSnapshotTaken, asSpawn } from './shapes.js';
import { openTerminal, type Terminal } from './terminal.js';
import { withQuery, type CallOptions, type Transport } from './transport.js';

/** What a buffered exec returns. */
export interface ExecResult extends ProcessExit {
  readonly stdout: string;
  readonly stderr: string;
  /** Output went past maxOutputBytes: the process was killed and the rest dropped. */
  readonly truncated: boolean;
  /** Phases of the call inside shedd, in milliseconds. */
  readonly timings: Readonly<Record<string, number>>;
}

/** One sandbox. `info` is a snapshot from the last call that returned it; `refresh()` renews it. */
export class Sandbox {
  readonly files: SandboxFiles;
  /** HTTP and TCP to ports inside the sandbox, through shedd. */
  readonly ports: SandboxPorts;
  #info: SandboxInfo;
  readonly #t: Transport;

  /** @internal Made by Shed.sandboxes. */
  constructor(t: Transport, info: SandboxInfo) {
    this.#t = t;
    this.#info = info;
    this.files = new SandboxFiles(t, info.id);
    this.ports = new SandboxPorts(t, info.id);
  }

  get id(): string {
    return this.#info.id;
  }

  get info(): SandboxInfo {
    return this.#info;
  }

  /** Runs a command to completion and returns its output. */
  async exec(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const { signal, stdin, ...rest } = opts;
    const body = {
      argv, ...rest,
      ...(stdin === undefined ? {} : typeof stdin === 'string' ? { stdin } : { stdin: Buffer.from(stdin).toString('base64'), encoding: 'base64' }),
    };
    const r = asExec(await this.#t.json('POST', this.#route(ROUTES.exec), { json: body, signal }));
    if (r.encoding === 'base64') return { ...r, stdout: Buffer.from(r.stdout, 'base64').toString('utf8'), stderr: Buffer.from(r.stderr, 'base64').toString('utf8') };
    return r;
  }

  /** Starts a command and returns at once with a handle streaming its output. */
  async spawn(argv: readonly string[], opts: SpawnOptions = {}): Promise<SandboxProcess> {
    const { signal, ...rest } = opts;
    const { procId, pid } = asSpawn(await this.#t.json('POST', this.#route(ROUTES.processes), { json: { argv, ...rest }, signal }));
    const output = await this.#t.send('GET', routePath(ROUTES.output, { sandbox: this.id, procId }), {});
    return new SandboxProcess(this.#t, this.id, procId, pid, output);
  }

  /**
   * The processes the sandbox's agent keeps: running ones, and exited ones whose output it
   * still holds (spawned before a shedd restart included).
   */
  async processes(opts: CallOptions = {}): Promise<ProcessEntry[]> {
    return asProcessList(await this.#t.json('GET', this.#route(ROUTES.processes), { signal: opts.signal }));
  }

  /**
   * Reattaches to a process by its `procId` (from `spawn`, or `processes()` after a lost
   * connection or a shedd restart), reading its output from `offset`. Output before the
   * offset is not sent again; the handle's `offset` says how far it got.
   */
  async attach(procId: number, opts: AttachOptions = {}): Promise<SandboxProcess> {
    const entry = (await this.processes({ signal: opts.signal })).find((p) => p.procId === procId);
    if (entry === undefined) {
      throw new ShedApiError('not_found', `process ${procId} is not known in sandbox ${this.id}; list them with processes()`);
    }
    const path = withQuery(routePath(ROUTES.output, { sandbox: this.id, procId }), { offset: opts.offset });
    const output = await this.#t.send('GET', path, { signal: opts.signal });
    return new SandboxProcess(this.#t, this.id, procId, entry.pid, output, opts.offset ?? 0);
  }

  /** Sends a signal to a process's group by its `procId`, without attaching to it. @default 'SIGTERM' */
  async kill(procId: number, signal: string | number = 'SIGTERM', opts: CallOptions = {}): Promise<void> {
    await this.#t.json('POST', routePath(ROUTES.kill, { sandbox: this.id, procId }), { json: { signal }, signal: opts.signal });
  }

  /**
   * Starts an interactive process on a terminal (the image's shell unless `cmd` is given)
   * and resolves once it runs. The process outlives the connection: see Terminal.
   */
  async shell(opts: ShellOptions = {}): Promise<Terminal> {
    const { signal, cmd, env, ...rest } = opts;
    const query = { ...rest, cmd, env: Object.entries(env ?? {}).map(([k, v]) => `${k}=${v}`) };
    return openTerminal(this.#t.websocket(withQuery(this.#route(ROUTES.shell), query)), signal);
  }

  /** Attaches a terminal to a running process, replaying its output from `offset`. */
  async attachTerminal(procId: number, opts: AttachTerminalOptions = {}): Promise<Terminal> {
    const path = withQuery(routePath(ROUTES.terminal, { sandbox: this.id, procId }), { offset: opts.offset });
    return openTerminal(this.#t.websocket(path), opts.signal);
  }

  async refresh(opts: CallOptions = {}): Promise<SandboxInfo> {
    this.#info = asSandbox(await this.#t.json('GET', this.#route(ROUTES.sandbox), { signal: opts.signal }));
    return this.#info;
  }

  /** Stops every process, keeping the filesystem for a later start. */
  async stop(opts: StopOptions = {}): Promise<void> {
    const { signal, ...body } = opts;
    this.#info = asSandbox(await this.#t.json('POST', this.#route(ROUTES.stop), { json: body, signal }));
  }

  async start(opts: CallOptions = {}): Promise<void> {
    this.#info = asSandbox(await this.#t.json('POST', this.#route(ROUTES.start), { json: {}, signal: opts.signal }));
  }

  /**
   * Captures its filesystem as a snapshot (a read-only layer): a running sandbox keeps
   * running, a stopped one is captured as it lies. Fork new sandboxes from it with
   * `shed.sandboxes.fork(snapshot)`, or make it an image with `shed.snapshots.commit(snapshot, name)`.
   */
  async snapshot(opts: SnapshotOptions = {}): Promise<SnapshotResponse> {
    const json = opts.memory === undefined ? {} : { memory: opts.memory };
    return asSnapshotTaken(await this.#t.json('POST', this.#route(ROUTES.snapshotSandbox), { json, signal: opts.signal }));
  }

  /** Paths the sandbox (running or stopped) added, modified and deleted over its image (and the snapshot it was forked from). */
  async diff(opts: CallOptions = {}): Promise<DiffResponse> {
    return asDiff(await this.#t.json('GET', this.#route(ROUTES.diff), { signal: opts.signal }));
  }

  /** Its changes as an OCI layer tar (whiteout entries for deletions), streamed. */
  async exportChanges(opts: CallOptions = {}): Promise<AsyncIterable<Buffer>> {
    const res = await this.#t.send('GET', withQuery(this.#route(ROUTES.diff), { format: 'tar' }), { signal: opts.signal });
    return res.body as AsyncIterable<Buffer>; // an IncomingMessage without an encoding yields Buffers.
  }

  /**
   * Makes its files exactly a snapshot's (one taken of it, or one it was forked from): a
   * running sandbox is stopped gracefully, moved onto the snapshot, and started again; a
   * stopped one is moved onto it and stays stopped.
   */
  async rollback(snapshotOrId: string | { readonly layerId: string }, opts: CallOptions = {}): Promise<void> {
    const snapshot = typeof snapshotOrId === 'string' ? snapshotOrId : snapshotOrId.layerId;
    this.#info = asSandbox(await this.#t.json('POST', this.#route(ROUTES.rollback), { json: { snapshot }, signal: opts.signal }));
  }

  /** Stops it if running and removes everything it had. */
  async delete(opts: CallOptions = {}): Promise<void> {
    await this.#t.json('DELETE', this.#route(ROUTES.sandbox), { signal: opts.signal });
  }

  #route(route: string): string {
    return routePath(route, { sandbox: this.id });
  }
}
