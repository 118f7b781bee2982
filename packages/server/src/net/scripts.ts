// The shell scripts and batches that set up and remove one sandbox's network. One `sh` per
// netns set-up or detach instead of one spawn per tool: spawning from the daemon forks a large
// process (~5 ms here under load), while exec'ing ip, unshare and nft from sh costs about a
// millisecond each. A create's connect step is two batches (ip, nft) run through the driver's
// spawn helper, which forks in microseconds: no sh between.
// Every value put in a script is validated first (addresses, interface names, ids) or quoted.
import { OPEN_EGRESS, type EgressPolicy } from '../core/network.js';
import { removalRules, sandboxRules, spareRules } from './rules.js';
import type { Subnet } from './settings.js';
import type { Batch } from './tools.js';

/** Single-quotes a string for sh. */
export const shQuote = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`;

// The netns belongs to the host's user namespace, not the sandbox's: its root has no network
// capabilities there (no raw sockets, so no forged packets). Two sysctls of the netns give
// back what a container normally has: ports below 1024 and ICMP echo (ping sockets).
const NETNS_SYSCTLS = 'echo 0 > /proc/sys/net/ipv4/ip_unprivileged_port_start && echo "0 2147483647" > /proc/sys/net/ipv4/ping_group_range';

export interface AttachScriptInput {
  readonly id: string;
  readonly netnsPath: string;
  readonly address: string;
  readonly iface: string;
  readonly bridge: string;
  readonly subnet: Subnet;
  readonly egress: EgressPolicy;
  /** shedd's pid: the veth's host end is pushed into its netns. */
  readonly daemonPid: number;
}

/**
 * The netns is made by unshare, bound to `netnsPath` (the runtime joins it by path), and
 * configured from inside: the veth is created there and its host end pushed out into
 * shedd's netns (`netns <pid>`), so the sandbox end never needs a name on the host.
 */
export function netnsScript(a: AttachScriptInput): string {
  return `set -e
: > ${shQuote(a.netnsPath)}
unshare --net=${shQuote(a.netnsPath)} sh -c ${shQuote(`${NETNS_SYSCTLS} && exec ip -batch -`)} <<'SHED_IP'
link add eth0 type veth peer name ${a.iface} netns ${a.daemonPid}
addr add ${a.address}/${a.subnet.prefix} dev eth0
link set lo up
link set eth0 up
route add default via ${a.subnet.gateway}
SHED_IP
`;
}

/** The host side, once the netns exists: the bridge port and the rules, two batches run side by side. */
export function connectBatches(a: AttachScriptInput): Batch[] {
  return [
    { cmd: 'ip', args: ['-batch'], text: `link set ${a.iface} master ${a.bridge} up\n` },
    { cmd: 'nft', args: ['-f'], text: sandboxRules(a.id, a.address, a.iface, a.egress) },
  ];
}

/**
 * Rules first (one transaction that succeeds from any partial state), then the veth. The pair
 * also goes by itself when the netns is released (asynchronously, after the sandbox's last
 * process): a failed delete is fine when the device is gone.
 */
export function detachScript(id: string, address: string | null, iface: string): string {
  return `set -e
nft -f - <<'SHED_NFT'
${removalRules(id, address, iface)}SHED_NFT
ip link del ${iface} 2> /dev/null || ! ip link show ${iface} > /dev/null 2>&1
`;
}

/**
 * A spare: the netns with its veth, address and route, as for a sandbox, and the host end on
 * the bridge. Its port is in the bridge's `ports` set with no `bound` address, so it drops
 * every frame until a sandbox takes it and its rules go on.
 */
export function spareScript(a: Omit<AttachScriptInput, 'egress'>): string {
  return `${netnsScript({ ...a, egress: OPEN_EGRESS })}nft -f - <<'SHED_NFT'
${spareRules(a.iface)}SHED_NFT
ip link set ${a.iface} master ${a.bridge} up
`;
}

/**
 * The host side of a taken spare, while the runtime starts: the sandbox's rules, and its host
 * veth renamed to the sandbox's name (detach and the sweep find it by that); two batches run
 * side by side. It fails closed throughout: the spare's name is a bound-less port until the
 * rename, and the new name's address has no egress element (its frames reach no chain that
 * accepts them) until the rules land, in one transaction.
 */
export function connectTakenBatches(a: AttachScriptInput, spareIface: string): Batch[] {
  return [
    { cmd: 'ip', args: ['-batch'], text: `link set ${spareIface} down\nlink set ${spareIface} name ${a.iface}\nlink set ${a.iface} up\n` },
    { cmd: 'nft', args: ['-f'], text: `${sandboxRules(a.id, a.address, a.iface, a.egress)}${spareRules(spareIface, 'delete')}` },
  ];
}
