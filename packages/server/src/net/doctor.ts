// `shed doctor`'s checks for network 'nat' (nft itself is checked with the host tools): IPv4
// forwarding, the bridge, unshare.
import { readFile } from 'node:fs/promises';
import type { DoctorCheck } from '@shed/protocol';
import { hasAddress } from './host-claims.js';
import type { NetworkSettings, Subnet } from './settings.js';
import { runTool } from './tools.js';

const check = (name: string, status: DoctorCheck['status'], detail: string, fix: string | null = null): DoctorCheck => ({ name, status, detail, fix });

export async function networkDoctorChecks(s: NetworkSettings, subnet: Subnet): Promise<DoctorCheck[]> {
  return [await forwardingCheck(), await bridgeCheck(s, subnet), await toolCheck('unshare', ['--version'], 'util-linux')];
}

async function forwardingCheck(): Promise<DoctorCheck> {
  const v = (await readFile('/proc/sys/net/ipv4/ip_forward', 'utf8').catch(() => '')).trim();
  if (v === '1') return check('ip-forwarding', 'ok', 'net.ipv4.ip_forward = 1');
  return check('ip-forwarding', 'warn', `net.ipv4.ip_forward = ${v || 'unreadable'}: shedd turns it on at the first "nat" sandbox`, 'sysctl -w net.ipv4.ip_forward=1 (and persist it in /etc/sysctl.d)');
}

async function bridgeCheck(s: NetworkSettings, subnet: Subnet): Promise<DoctorCheck> {
  if (await hasAddress(s.bridge, subnet.gateway)) return check('network-bridge', 'ok', `${s.bridge} is up with ${subnet.gateway}/${subnet.prefix}`);
  return check('network-bridge', 'ok', `${s.bridge} (${subnet.cidr}) is made at the first "nat" sandbox`);
}

async function toolCheck(cmd: string, args: string[], pkg: string): Promise<DoctorCheck> {
  const r = await runTool(cmd, args).catch(() => null);
  if (r === null || r.exitCode !== 0) return check(cmd, 'warn', `${cmd} is missing: network "nat" cannot be set up`, `apt-get install ${pkg}`);
  return check(cmd, 'ok', r.stdout.trim().split('\n')[0] ?? cmd);
}
