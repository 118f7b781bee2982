// Validates a DriverCreateSpec before anything is made: core decided it, but the driver is
// the last place a bad value can be turned into a clear error instead of a runtime failure.
import { isAbsolute, normalize } from 'node:path';
import type { DriverCreateSpec } from '../../core/driver.js';
import { invalidArgument } from '../../core/errors.js';
import { isSandboxId } from '../../core/ids.js';

const HOSTNAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;

function intIn(name: string, v: number, min: number, max: number, hint: string): void {
  if (!Number.isSafeInteger(v) || v < min || v > max) throw invalidArgument(`${name} must be an integer in ${min}…${max} (${hint}); got ${v}`, { [name]: v });
}

function cleanAbsolute(name: string, p: string): void {
  if (!isAbsolute(p) || normalize(p) !== p || p.endsWith('/')) throw invalidArgument(`${name} must be a normalized absolute path; got '${p}'`, { [name]: p });
}

export function checkSpec(spec: DriverCreateSpec): void {
  if (!isSandboxId(spec.id)) throw invalidArgument(`'${spec.id}' is not a sandbox id`);
  if (!HOSTNAME.test(spec.hostname)) throw invalidArgument(`hostname '${spec.hostname}' must be 1-63 letters, digits or '-'`);
  if (spec.network !== 'none' && spec.network !== 'nat') throw invalidArgument(`network mode '${String(spec.network)}' is not supported; use 'none' or 'nat'`);
  intIn('memoryMiB', spec.resources.memoryMiB, 16, 1_048_576, 'MiB');
  intIn('cpuMillis', spec.resources.cpuMillis, 10, 1_024_000, 'thousandths of a core');
  intIn('pidsMax', spec.resources.pidsMax, 8, 4_194_304, 'processes and threads');
  intIn('idMap.hostId', spec.idMap.hostId, 1, 4_294_967_294 - spec.idMap.size, 'host ids must not include 0');
  intIn('idMap.size', spec.idMap.size, 1, 4_294_967_294, 'number of ids');
  cleanAbsolute('stateDir', spec.stateDir);
  cleanAbsolute('runDir', spec.runDir);
  if (spec.lowerDirs.length === 0) throw invalidArgument('lowerDirs is empty: a sandbox needs the image rootfs as its lowest layer');
  for (const d of spec.lowerDirs) cleanAbsolute('lowerDirs[]', d);
}
