// `shed doctor`: every check of the host, run by shedd (root, with the driver's probe) and
// served on GET /v1/system/doctor. The container driver checks what it needs; the rest are
// host tools. Checks run one after another: several spawn tools, and the host has 2 cores.
import type { DoctorCheck, DoctorResponse } from '@shed/protocol';
import type { Driver, IdMap } from '../../core/driver.js';
import type { SandboxNetworks } from '../../core/network.js';
import { memorySnapshotCapability } from '../../core/memory-snapshots.js';
import { ContainerDriver } from '../../drivers/container/driver.js';
import { criuCheck, kvmCheck, nftablesCheck, skopeoCheck } from './host-checks.js';

export interface DoctorDeps {
  readonly driver: Driver;
  readonly idMap: IdMap;
  /** Network 'nat', when this shedd offers it. */
  readonly network?: SandboxNetworks;
}

export async function runDoctor(deps: DoctorDeps): Promise<DoctorResponse> {
  const checks: DoctorCheck[] = [...(await driverChecks(deps))];
  for (const check of [nftablesCheck, kvmCheck, criuCheck]) checks.push(await check());
  checks.push(await memorySnapshotsCheck(deps.driver), await skopeoCheck());
  checks.push(...((await deps.network?.doctorChecks()) ?? []));
  return { ok: checks.every((c) => c.status !== 'fail'), checks };
}

/**
 * The capability `snapshot --memory` asks for, from the driver's own probe (criu check and the
 * runtime's checkpoint support). A warning either way today: shed drives no checkpoint yet, so
 * even a host that could is reported absent, with what it has.
 */
async function memorySnapshotsCheck(driver: Driver): Promise<DoctorCheck> {
  const p = await memorySnapshotCapability(driver);
  const detail = p.available
    ? `memory snapshots: absent: the host could checkpoint (${p.reason}), but shed does not drive CRIU yet; filesystem snapshots work`
    : `memory snapshots: absent: ${p.reason}; filesystem snapshots work`;
  return { name: 'memory-snapshots', status: 'warn', detail,
    fix: "nothing is needed for filesystem snapshots; memory snapshots need a criu whose 'criu check' passes on this kernel and a runtime built with checkpoint support (crun '+CRIU', or runc)" };
}

async function driverChecks(deps: DoctorDeps): Promise<DoctorCheck[]> {
  if (deps.driver instanceof ContainerDriver) return deps.driver.doctorChecks(deps.idMap);
  // Another driver: its probe is all the doctor knows of it.
  const p = await deps.driver.probe();
  return [p.usable
    ? { name: 'driver', status: 'ok', detail: `${deps.driver.name}: ${p.notes.join('; ')}`, fix: null }
    : { name: 'driver', status: 'fail', detail: `${deps.driver.name}: ${p.problems.join('; ')}`, fix: 'each problem names its own fix' }];
}
