// Where one sandbox's files live on the host. The daemon gives each sandbox a state dir
// (survives restarts) and a run dir (transient); the runtime's state root sits next to the
// run dirs, one per daemon, so two daemons never see each other's containers.
import { dirname, join } from 'node:path';
import type { DriverCreateSpec } from '../../core/driver.js';
import { invalidArgument } from '../../core/errors.js';
import { cgroupScope, containerIdFor } from './cgroups.js';
import { SOCKET_NAME } from './oci-config.js';
import { overlayDirs, type OverlayDirs } from './overlay.js';
import type { RuntimeName } from './runtime.js';

export interface SandboxLayout {
  readonly containerId: string;
  readonly overlay: OverlayDirs;
  /** The OCI bundle: config.json lives here (the rootfs path in it is absolute). */
  readonly bundleDir: string;
  readonly configPath: string;
  readonly pidFile: string;
  /** The container's stdout/stderr and the runtime's messages. */
  readonly logPath: string;
  /** Host-owned directory bound read-only into the sandbox, holding the agent's socket. */
  readonly socketDir: string;
  readonly socketPath: string;
  readonly runtimeRoot: string;
  readonly cgroupsPath: string;
  /** Network 'nat': the netns is bind-mounted here (the runtime joins it by path). */
  readonly netnsPath: string;
  /** Network 'nat': bound read-only at /etc/resolv.conf. */
  readonly resolvConfPath: string;
}

// sockaddr_un.sun_path is 108 bytes including the terminating NUL.
const MAX_SOCKET_PATH = 107;

/** The directory holding every sandbox run dir of this daemon (the run dirs' parent). */
export const runRootOf = (runDir: string): string => dirname(runDir);

export const runtimeRootFor = (runRoot: string, runtime: RuntimeName): string => join(runRoot, '.oci', runtime);

export function sandboxLayout(spec: Pick<DriverCreateSpec, 'id' | 'stateDir' | 'runDir'>, runtime: RuntimeName): SandboxLayout {
  const runRoot = runRootOf(spec.runDir);
  const socketDir = join(spec.runDir, 'agent');
  const socketPath = join(socketDir, SOCKET_NAME);
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH) {
    throw invalidArgument(`the agent socket path ${socketPath} is longer than ${MAX_SOCKET_PATH} bytes; use a shorter run directory`);
  }
  const containerId = containerIdFor(spec.id);
  return {
    containerId,
    overlay: overlayDirs(spec.stateDir),
    bundleDir: spec.runDir,
    configPath: join(spec.runDir, 'config.json'),
    pidFile: join(spec.runDir, 'init.pid'),
    logPath: join(spec.runDir, 'sandbox.log'),
    socketDir,
    socketPath,
    runtimeRoot: runtimeRootFor(runRoot, runtime),
    cgroupsPath: `${cgroupScope(runRoot)}/${containerId}`,
    // In a directory of its own: a spare netns is moved in whole by a rename (see net/).
    netnsPath: join(spec.runDir, 'net', 'netns'),
    resolvConfPath: join(spec.runDir, 'resolv.conf'),
  };
}
