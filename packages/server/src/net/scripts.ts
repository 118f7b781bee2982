// The shell scripts and batches that set up and remove one sandbox's network. One `sh` per
// netns set-up or detach instead of one spawn per tool: spawning from the daemon forks a large
// process (~5 ms here under load), while exec'ing ip, unshare and nft from sh costs about a
// millisecond each. A create's connect step is two commands (ip, nft) run through the driver's
// spawn helper, which forks in microseconds: no sh between, and no file written first.
// Every value put in a script is validated first (addresses, interface names, ids) or quoted.
import { OPEN_EGRESS, type EgressPolicy } from '../core/network.js';
import { removalRules, sandboxRuleLines, spareRules } from './rules.js';
import type { Subnet } from './settings.js';

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

/**
 * The host side, once the netns exists: the bridge port and the rules, two commands run side
 * by side. Each is a plain argv (the rules are one `nft` argument, commands separated by `;`),
 * so nothing is written to a file first.
 */
export function connectCommands(a: AttachScriptInput): string[][] {
  return [
    ['ip', 'link', 'set', 'dev', a.iface, 'master', a.bridge, 'up'],
    ['nft', sandboxRuleLines(a.id, a.address, a.iface, a.egress).join('; ')],
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
 * the bridge, down (a veth is renamed only while down; the taker sets it up). Its port is in
 * the bridge's `ports` set with no `bound` address, so it drops every frame until a sandbox
 * takes it and its rules go on.
 */
export function spareScript(a: Omit<AttachScriptInput, 'egress'>): string {
  return `${netnsScript({ ...a, egress: OPEN_EGRESS })}nft -f - <<'SHED_NFT'
${spareRules(a.iface)}SHED_NFT
ip link set ${a.iface} master ${a.bridge}
`;
}

/**
 * The host side of a taken spare, while the runtime starts: its host veth (down since the
 * spare was made) renamed to the sandbox's name, which detach and the sweep find it by, and
 * up, in one request; and the sandbox's rules, which also take the spare's name out of
 * `ports`. The two run side by side and fail closed in either order: until the rules land the
 * port has no bound address (table bridge shed drops its frames) and the address no egress
 * element.
 */
export function connectTakenCommands(a: AttachScriptInput, spareIface: string): string[][] {
  const rules = [...sandboxRuleLines(a.id, a.address, a.iface, a.egress), ...spareRules(spareIface, 'delete').trim().split('\n')];
  return [
    ['ip', 'link', 'set', 'dev', spareIface, 'name', a.iface, 'up'],
    ['nft', rules.join('; ')],
  ];
}
