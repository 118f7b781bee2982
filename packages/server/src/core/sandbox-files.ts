import type { AgentDirEntry, AgentFileStat } from './agent-port.js';
import { viaAgent } from './agent-errors.js';
import { invalidArgument } from './errors.js';
import type { SandboxService } from './sandbox-service.js';
import { sandboxPath } from './sandbox-paths.js';

export interface WriteFileOptions {
  /** Permission bits of a created file. @default 0o644 */
  mode?: number;
  /** Append instead of replacing. @default false */
  append?: boolean;
  signal?: AbortSignal;
}

/**
 * Files in a running sandbox. Every call goes through the agent, which does the work inside
 * the sandbox's own mount namespace and root: a symlink there resolves inside the sandbox
 * and can never reach a host file, which host-side path handling could not promise.
 */
export class SandboxFiles {
  readonly #sandboxes: SandboxService;

  constructor(sandboxes: SandboxService) {
    this.#sandboxes = sandboxes;
  }

  /** The file's bytes as they stream from the agent; starts only once the file opened. */
  async read(ref: string, path: string, opts: { signal?: AbortSignal } = {}): Promise<AsyncIterable<Buffer>> {
    const p = sandboxPath(path);
    const { live } = this.#sandboxes.live(ref);
    const it = live.agent.read(p, opts)[Symbol.asyncIterator]();
    // Pull the first chunk now so a missing file is an error before any byte is sent.
    const first = await viaAgent(`read ${p}`, () => it.next());
    return (async function* () {
      if (first.done === true) return;
      yield first.value;
      for (;;) {
        const r = await viaAgent(`read ${p}`, () => it.next());
        if (r.done === true) return;
        yield r.value;
      }
    })();
  }

  /** Resolves with the number of bytes written. */
  write(ref: string, path: string, data: AsyncIterable<Uint8Array>, opts: WriteFileOptions = {}): Promise<number> {
    const p = sandboxPath(path);
    const { live } = this.#sandboxes.live(ref);
    return viaAgent(`write ${p}`, () => live.agent.writeFile(p, data, opts));
  }

  stat(ref: string, path: string, opts: { followSymlinks?: boolean; signal?: AbortSignal } = {}): Promise<AgentFileStat> {
    const p = sandboxPath(path);
    const { live } = this.#sandboxes.live(ref);
    return viaAgent(`stat ${p}`, () => live.agent.stat(p, opts));
  }

  list(ref: string, path: string, opts: { signal?: AbortSignal } = {}): Promise<AgentDirEntry[]> {
    const p = sandboxPath(path);
    const { live } = this.#sandboxes.live(ref);
    return viaAgent(`list ${p}`, () => live.agent.list(p, opts));
  }

  mkdir(ref: string, path: string, opts: { parents?: boolean; mode?: number; signal?: AbortSignal } = {}): Promise<void> {
    const p = sandboxPath(path);
    const { live } = this.#sandboxes.live(ref);
    return viaAgent(`mkdir ${p}`, () => live.agent.mkdir(p, opts));
  }

  remove(ref: string, path: string, opts: { recursive?: boolean; signal?: AbortSignal } = {}): Promise<void> {
    const p = sandboxPath(path);
    if (p === '/') throw invalidArgument("refusing to remove '/'; remove what is inside it, or delete the sandbox");
    const { live } = this.#sandboxes.live(ref);
    return viaAgent(`remove ${p}`, () => live.agent.remove(p, opts));
  }

  rename(ref: string, from: string, to: string, opts: { signal?: AbortSignal } = {}): Promise<void> {
    const a = sandboxPath(from, 'from');
    const b = sandboxPath(to, 'to');
    const { live } = this.#sandboxes.live(ref);
    return viaAgent(`rename ${a}`, () => live.agent.rename(a, b, opts));
  }
}
