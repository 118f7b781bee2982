// Spare network namespaces for 'nat' creates: each is what a sandbox's network is before its
// rules (netns, veth with address and route, host end on the bridge, address lease), made
// ahead so a create takes one instead of spending ~40 ms of processes on it. A spare is named
// like a sandbox (a fresh sandbox id holds its lease and names its veth, and its netns file
// sits at <runRoot>/<id>/netns like a sandbox's): a daemon killed with spares leaves what the
// next one's orphan sweep removes as it does a dead sandbox's. A daemon that stops removes them.
import { join } from 'node:path';
import { asShedError } from '../core/errors.js';
import { newSandboxId, type SandboxId } from '../core/ids.js';
import { hostIfaceOf } from './names.js';

export interface Spare {
  readonly id: SandboxId;
  readonly address: string;
  readonly iface: string;
  /** <runRoot>/<id>: removed when taken or dropped. */
  readonly dir: string;
  /** <dir>/net/netns: a create takes <dir>/net whole. */
  readonly netnsPath: string;
}

export interface SparePoolOptions {
  readonly size: number;
  /** Where sandbox run dirs are (`<runRoot>/<id>`), so the orphan sweep finds a dead daemon's spares. */
  readonly runRoot: string;
  /** Leases an address for the spare and sets it up; on failure it undoes its own part. */
  readonly make: (spare: Omit<Spare, 'address'>) => Promise<string>;
  readonly remove: (spare: Spare) => Promise<void>;
  readonly log?: { warn(obj: object, msg: string): void };
}

export class SparePool {
  readonly #opts: SparePoolOptions;
  readonly #ready: Spare[] = [];
  /** Ids being made: their lease exists before they are ready, and the sweep must leave them. */
  readonly #making = new Set<SandboxId>();
  #filling: Promise<void> | undefined;
  #closed = false;

  constructor(opts: SparePoolOptions) {
    this.#opts = opts;
  }

  /** A ready spare, now the caller's (its lease still under the spare's id), or none. */
  take(): Spare | undefined {
    return this.#ready.shift();
  }

  holds(id: SandboxId): boolean {
    return this.#making.has(id) || this.#ready.some((s) => s.id === id);
  }

  /** Tops the pool up in the background, one spare at a time; a failure is logged and ends the round. */
  refill(): void {
    if (this.#closed || this.#filling !== undefined || this.#ready.length >= this.#opts.size) return;
    this.#filling = this.#fill()
      .catch((err: unknown) => this.#opts.log?.warn({ err: asShedError(err, 'spare netns').message }, 'making a spare network namespace failed'))
      .finally(() => {
        this.#filling = undefined;
      });
  }

  /** Waits for a refill under way (tests, shutdown). */
  async settled(): Promise<void> {
    await this.#filling;
  }

  /** Stops refilling and removes every ready spare. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#filling;
    for (const s of this.#ready.splice(0)) {
      await this.#opts.remove(s).catch((err: unknown) => this.#opts.log?.warn({ spare: s.id, err: asShedError(err, 'spare netns').message }, 'removing a spare network namespace failed'));
    }
  }

  async #fill(): Promise<void> {
    while (!this.#closed && this.#ready.length < this.#opts.size) {
      const id = newSandboxId();
      const dir = join(this.#opts.runRoot, id);
      // The netns in a directory of its own, which a create moves into the sandbox's run dir.
      const spare = { id, iface: hostIfaceOf(id), dir, netnsPath: join(dir, 'net', 'netns') };
      this.#making.add(id);
      try {
        this.#ready.push({ ...spare, address: await this.#opts.make(spare) });
      } finally {
        this.#making.delete(id);
      }
    }
  }
}
