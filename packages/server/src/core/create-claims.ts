import { ShedError } from './errors.js';
import type { SandboxId } from './ids.js';

/**
 * What creates in flight have claimed before their rows exist: names, so two creates cannot
 * both take one, and ids, so the orphan sweep does not take their half-made sandboxes for
 * orphans.
 */
export class CreateClaims {
  readonly #names = new Set<string>();
  readonly #ids = new Set<SandboxId>();

  /** @param nameTaken whether a stored sandbox already has the name */
  constructor(private readonly nameTaken: (name: string) => boolean) {}

  /** Claims the name (no-op for null); already_exists when a sandbox or a create in flight has it. */
  claimName(name: string | null): void {
    if (name === null) return;
    if (this.#names.has(name) || this.nameTaken(name)) {
      throw new ShedError('already_exists', `a sandbox named '${name}' already exists; pick another name or delete it first`, {
        details: { name },
      });
    }
    this.#names.add(name);
  }

  releaseName(name: string | null): void {
    if (name !== null) this.#names.delete(name);
  }

  /** Runs a create of `id` holding `name` (claimed here), releasing both when it ends. */
  async run<T>(id: SandboxId, name: string | null, fn: () => Promise<T>): Promise<T> {
    this.claimName(name);
    this.#ids.add(id);
    try {
      return await fn();
    } finally {
      this.#ids.delete(id);
      this.releaseName(name);
    }
  }

  isCreating(id: SandboxId): boolean {
    return this.#ids.has(id);
  }
}
