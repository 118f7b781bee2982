// `shed doctor`: every check of the host, run by shedd (root, with the driver's probe) and
// served on GET /v1/system/doctor. The container driver checks what it needs; the rest are
// host tools. Checks run one after another: several spawn tools, and the host has 2 cores.
import type { DoctorCheck, DoctorResponse } from '@shed/protocol';
import type { Driver, IdMap } from '../../core/driver.js';
import type { SandboxNetworks } from '../../core/network.js';
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
  for (const check of [nftablesCheck, kvmCheck, criuCheck, skopeoCheck]) checks.push(await check());
  checks.push(...((await deps.network?.doctorChecks()) ?? []));
  return { ok: checks.every((c) => c.status !== 'fail'), checks };
}

async function driverChecks(deps: DoctorDeps): Promise<DoctorCheck[]> {
  if (deps.driver instanceof ContainerDriver) return deps.driver.doctorChecks(deps.idMap);
  // Another driver: its probe is all the doctor knows of it.
  const p = await deps.driver.probe();
  return [p.usable
    ? { name: 'driver', status: 'ok', detail: `${deps.driver.name}: ${p.notes.join('; ')}`, fix: null }
    : { name: 'driver', status: 'fail', detail: `${deps.driver.name}: ${p.problems.join('; ')}`, fix: 'each problem names its own fix' }];
}
