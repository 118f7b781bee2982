// Starting one sandbox's processes, shared by create and start: bind its published ports,
// have the driver make it on its layers, save its handles, and wrap it as a LiveSandbox.
// Every step that made something pushes its undo on the caller's cleanup stack.
import type { AgentPort } from './agent-port.js';
import type { CleanupStack } from './cleanup.js';
import type { Driver, IdMap, RunningSandbox } from './driver.js';
import { faultPoint } from './faults.js';
import { saveHandles } from './handles-file.js';
import type { SandboxId } from './ids.js';
import type { ImageService, ResolvedImage } from './images.js';
import { LiveSandbox, commandDefaults } from './live-sandbox.js';
import type { PhaseTimer } from './phase-timer.js';
import type { PortPublishing } from './published-ports.js';
import type { SandboxDirs } from './sandbox-dirs.js';
import type { Persistence, SandboxRecord, SandboxSpec } from './sandboxes.js';
import { sandboxLowers } from './snapshots.js';

export interface SandboxStarterDeps {
  readonly driver: Driver;
  readonly images: ImageService;
  readonly store: Persistence;
  readonly dirs: SandboxDirs;
  readonly idMap: IdMap;
  /** Where snapshot layers live (a fork's lowers are found there). */
  readonly layersRoot: string;
  readonly publisher?: PortPublishing;
  readonly agentOf?: (running: RunningSandbox) => AgentPort;
}

export class SandboxStarter {
  constructor(private readonly d: SandboxStarterDeps) {}

  /** Makes the sandbox run; on failure the caller unwinds `cleanup`. */
  async start(id: SandboxId, spec: SandboxSpec, image: ResolvedImage, timer: PhaseTimer, cleanup: CleanupStack, signal?: AbortSignal): Promise<LiveSandbox> {
    const runDir = this.d.dirs.runDirOf(id);
    await this.#publish(id, spec, timer, cleanup);
    const running = await timer.time('driver', () =>
      this.d.driver.create(
        {
          id, lowerDirs: sandboxLowers(this.d.store, this.d.layersRoot, spec.fromLayer, image.rootfs),
          hostname: spec.hostname, resources: spec.resources, network: spec.network, ...(spec.egress === undefined ? {} : { egress: spec.egress }),
          idMap: this.d.idMap, stateDir: this.d.dirs.stateDirOf(id), runDir,
        },
        { signal, timer },
      ),
    );
    cleanup.push('stop the sandbox', () => this.d.driver.stop(running.handles, { graceMs: 0 }));
    faultPoint('create.after-runtime');
    timer.timeSync('handles', () => saveHandles(runDir, running.handles));
    return new LiveSandbox(running.handles, this.#agentOf(running), commandDefaults(image.info.config, spec));
  }

  /** A sandbox found running (adopted at start, re-linked after a dropped link), made live again. */
  async relink(rec: SandboxRecord, running: RunningSandbox): Promise<LiveSandbox> {
    const image = await this.d.images.resolve(rec.imageDigest);
    return new LiveSandbox(running.handles, this.#agentOf(running), commandDefaults(image.info.config, rec.spec));
  }

  /** Binds the sandbox's published host ports first: a port in use fails the create before anything runs. */
  async #publish(id: SandboxId, spec: SandboxSpec, timer: PhaseTimer, cleanup: CleanupStack): Promise<void> {
    const publisher = this.d.publisher;
    const ports = spec.ports ?? [];
    if (publisher === undefined || ports.length === 0) return;
    await timer.time('publish', () => publisher.open(id, ports));
    cleanup.push('release the published ports', () => publisher.close(id));
  }

  #agentOf(running: RunningSandbox): AgentPort {
    return this.d.agentOf?.(running) ?? running.agent;
  }
}
