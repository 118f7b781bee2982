import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { DriverHandles } from './driver.js';
import { loadHandles } from './handles-file.js';
import type { SandboxId } from './ids.js';

/**
 * Where a sandbox's files live, and the handles to reach it from them alone: the durable
 * state dir (`<dataDir>/sandboxes/<id>`: writable layer) and the transient run dir
 * (`<runDir>/sandboxes/<id>`: handles.json, agent socket).
 */
/** The parent of every sandbox's run dir under shedd's run dir. */
export const sandboxRunRoot = (runDir: string): string => join(runDir, 'sandboxes');

export class SandboxDirs {
  constructor(
    private readonly driverName: string,
    private readonly dataDir: string,
    private readonly runDir: string,
  ) {}

  /** The parents of every sandbox's run and state dirs (what the orphan sweep looks under). */
  get roots(): { readonly runRoot: string; readonly stateRoot: string } {
    return { runRoot: sandboxRunRoot(this.runDir), stateRoot: join(this.dataDir, 'sandboxes') };
  }

  stateDirOf(id: SandboxId): string {
    return join(this.dataDir, 'sandboxes', id);
  }

  runDirOf(id: SandboxId): string {
    return join(this.runDir, 'sandboxes', id);
  }

  /** Handles the driver can still find and remove what it made with, from the id and directories alone. */
  bareHandles(id: SandboxId): DriverHandles {
    return { driver: this.driverName, id, data: { stateDir: this.stateDirOf(id), runDir: this.runDirOf(id) } };
  }

  /** The handles saved in the run dir, or null (never started, host rebooted, unreadable). */
  async saved(id: SandboxId): Promise<DriverHandles | null> {
    return loadHandles(this.runDirOf(id)).catch(() => null);
  }

  /** The saved handles, else bare ones. */
  async savedOrBare(id: SandboxId): Promise<DriverHandles> {
    return (await this.saved(id)) ?? this.bareHandles(id);
  }

  async remove(id: SandboxId): Promise<void> {
    await Promise.all([rm(this.stateDirOf(id), { recursive: true, force: true }), rm(this.runDirOf(id), { recursive: true, force: true })]);
  }
}
