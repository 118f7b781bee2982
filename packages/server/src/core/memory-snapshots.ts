// Memory snapshots (process state, not only files): asked for with `snapshot({memory: true})`.
// The container driver would need CRIU (`criu check` passing on this kernel) and an OCI runtime
// built with checkpoint support; shed does not drive a checkpoint yet, so the request is always
// refused with `unimplemented` — never a daemon failure — and the message carries the host's
// probe (what is missing and how to fix it). docs/snapshots.md says what the path would need.
import type { CapabilityProbe, Driver } from './driver.js';
import { ShedError } from './errors.js';

const ABSENT = 'memory snapshots are not available on this host';

/** The driver's probe, or why it has none. Never throws. */
export async function memorySnapshotCapability(driver: Driver): Promise<CapabilityProbe> {
  if (driver.snapshots === undefined) return { available: false, reason: `driver '${driver.name}' takes no snapshots at all` };
  return driver.snapshots.probeMemorySnapshots().catch((err: unknown) => ({
    available: false, reason: `the probe failed: ${err instanceof Error ? err.message : String(err)}`,
  }));
}

/** The error a memory snapshot request gets: `unimplemented`, with the probe's reason and the fix. */
export async function refuseMemorySnapshot(driver: Driver): Promise<ShedError> {
  const probe = await memorySnapshotCapability(driver);
  const why = probe.available
    ? `this host could checkpoint (${probe.reason}), but shed does not drive CRIU checkpoints yet`
    : `${ABSENT}: ${probe.reason}`;
  return new ShedError('unimplemented',
    `${why}. Take a filesystem snapshot instead (leave out memory: true): files are captured, processes start fresh in forks. ` +
    "Memory snapshots of containers need a criu release whose 'criu check' passes on this kernel and an OCI runtime built with checkpoint support (crun '+CRIU', or runc)",
    { details: { capability: 'memory-snapshots', available: probe.available, reason: probe.reason } });
}
