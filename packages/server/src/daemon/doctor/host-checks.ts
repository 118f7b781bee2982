// `shed doctor`'s checks of host tools the daemon uses beyond the container driver: nftables
// (network 'nat'), KVM (the vm driver), CRIU (memory snapshots of containers) and skopeo
// (image pulls). Missing optional capabilities are warnings, not failures.
import type { DoctorCheck } from '@shed/protocol';
import { access, constants, readFile } from 'node:fs/promises';
import { gist, runTool } from './tool.js';

const ok = (name: string, detail: string): DoctorCheck => ({ name, status: 'ok', detail, fix: null });
const warn = (name: string, detail: string, fix: string): DoctorCheck => ({ name, status: 'warn', detail, fix });

export async function nftablesCheck(): Promise<DoctorCheck> {
  const r = await runTool('nft', ['list', 'tables']);
  if (!r.found) return warn('nftables', 'nft is not installed: network "nat" cannot be set up', 'apt-get install nftables');
  if (r.exitCode !== 0) return warn('nftables', `nft list tables failed: ${gist(r.stderr)}`, 'load the nf_tables module (modprobe nf_tables) and run shedd as root');
  return ok('nftables', `nft list tables works (${r.stdout.split('\n').filter((l) => l.startsWith('table')).length} tables)`);
}

export async function skopeoCheck(): Promise<DoctorCheck> {
  const r = await runTool('skopeo', ['--version']);
  if (!r.found) return warn('skopeo', 'skopeo is not installed: `shed image pull` cannot reach registries (imports and built-in images still work)', 'apt-get install skopeo');
  if (r.exitCode !== 0) return warn('skopeo', `skopeo --version failed: ${gist(r.stderr)}`, 'reinstall skopeo (apt-get install --reinstall skopeo)');
  return ok('skopeo', r.stdout.trim());
}

/** CRIU is optional: without it containers get filesystem snapshots only, no memory snapshots. */
export async function criuCheck(): Promise<DoctorCheck> {
  const r = await runTool('criu', ['check'], 20_000);
  if (!r.found) return warn('criu', 'optional capability absent: criu is not installed, so container memory snapshots are unavailable (filesystem snapshots work)', 'apt-get install criu');
  if (r.exitCode === 0) return ok('criu', 'criu check passes: container memory snapshots are possible');
  return warn('criu', `optional capability absent: criu check fails (${gist(r.stderr + r.stdout)}), so container memory snapshots are unavailable (filesystem snapshots work)`,
    'nothing is needed; for memory snapshots use a criu release that supports this kernel (criu check must pass)');
}

/** Which module provides /dev/kvm: hardware virtualization, or PVM (a paravirtual VMM that runs inside a VM). */
export type KvmBackend = 'intel' | 'amd' | 'pvm' | 'unknown';

export async function kvmBackend(): Promise<KvmBackend> {
  const loaded = async (m: string): Promise<boolean> => access(`/sys/module/${m}`).then(() => true, () => false);
  if (await loaded('kvm_pvm')) return 'pvm';
  if (await loaded('kvm_intel')) return 'intel';
  if (await loaded('kvm_amd')) return 'amd';
  return 'unknown';
}

export async function kvmCheck(): Promise<DoctorCheck> {
  const name = 'kvm';
  const tcg = 'the vm driver will use TCG (emulation: real, but slow)';
  if (!(await access('/dev/kvm').then(() => true, () => false))) {
    const cpu = await readFile('/proc/cpuinfo', 'utf8').catch(() => '');
    const hw = /\b(vmx|svm)\b/.test(cpu);
    return warn(name, `no /dev/kvm: ${tcg}`, hw ? 'modprobe kvm_intel (or kvm_amd)' : 'enable VT-x/AMD-V in firmware, or nested virtualization on the hypervisor');
  }
  const usable = await access('/dev/kvm', constants.R_OK | constants.W_OK).then(() => true, () => false);
  if (!usable) return warn(name, `/dev/kvm exists but this process cannot open it read-write: ${tcg}`, 'run shedd as root or in the kvm group');
  const backend = await kvmBackend();
  if (backend === 'pvm') {
    return warn(name, `/dev/kvm is backed by PVM (module kvm_pvm loaded): it runs only guests with a PVM-enabled kernel, which shed's vm driver does not boot; ${tcg}`,
      'nothing is needed; for hardware KVM run shed on bare metal or a VM with nested virtualization (kvm_intel / kvm_amd)');
  }
  if (backend === 'unknown') return warn(name, `/dev/kvm is present but its backend is unknown (no kvm_intel, kvm_amd or kvm_pvm module): untested; ${tcg}`, 'nothing is needed');
  return ok(name, `/dev/kvm is present and read-write (kvm_${backend}): the vm driver can use KVM`);
}
