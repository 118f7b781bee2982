// The nftables rules of the 'nat' network, as `nft -f -` text. Two tables, both shed's own:
//  - inet shed: NAT out, and what a sandbox may reach. Forwarded traffic from the bridge is
//    dispatched on its source address (map egress) to the sandbox's own chain; traffic to
//    the host itself (any host address: hook input) only for sandboxes in map host; the rest
//    is refused (TCP reset, else ICMP admin-prohibited) so a client fails fast.
//  - bridge shed: what never reaches the IP layer. Frames between two sandbox ports are
//    bridged, not routed, so sandbox-to-sandbox traffic is filtered here (both ports in set
//    open, else dropped). Where br_netfilter is loaded (bridge-nf-call-iptables=1, as on many
//    hosts) bridged IPv4 also crosses the inet hooks with the bridge as its interface, so the
//    inet forward chain repeats the rule by address (set peers); and a port may only send IPv4/ARP from its own leased address, since
//    CAP_NET_RAW lets a sandbox forge any source, and the maps above key on it. A port with no
//    bound address (a spare; a taken spare's veth between its rename and its rules) drops all.
// Every statement is idempotent (add/flush), so re-applying the base keeps sandboxes' chains.
import type { EgressPolicy } from '../core/network.js';
import { parseEgressRule } from '../core/network.js';
import type { Subnet } from './settings.js';

/** Declarations: safe to repeat; they make the later deletes of a removal never fail on "no such". */
function declarations(): string {
  return `table inet shed {
  map egress { type ipv4_addr : verdict; }
  map host { type ipv4_addr : verdict; }
  set peers { type ipv4_addr; }
  chain refuse { }
  chain postrouting { type nat hook postrouting priority srcnat; policy accept; }
  chain forward { type filter hook forward priority filter; policy accept; }
  chain input { type filter hook input priority filter; policy accept; }
}
table bridge shed {
  set ports { type ifname; }
  set open { type ifname; }
  set bound { type ifname . ipv4_addr; }
  chain forward { type filter hook forward priority filter; policy accept; }
  chain prerouting { type filter hook prerouting priority filter; policy accept; }
}
`;
}

const q = (s: string): string => JSON.stringify(s); // interface names are [a-zA-Z0-9_.-]: JSON quoting is nft quoting

/** The fixed rules: replaced whole on every apply, leaving sandbox chains and elements alone. */
export function baseRules(bridge: string, subnet: Subnet, dns: boolean): string {
  const b = q(bridge);
  const lines = [
    ...['refuse', 'postrouting', 'forward', 'input'].map((c) => `flush chain inet shed ${c}`),
    'flush chain bridge shed forward',
    'flush chain bridge shed prerouting',
    'add rule inet shed refuse meta l4proto tcp reject with tcp reset',
    'add rule inet shed refuse reject with icmpx admin-prohibited',
    `add rule inet shed postrouting ip saddr ${subnet.cidr} oifname != ${b} masquerade`,
    'add rule inet shed forward ct state established,related accept',
    // Between sandboxes: bridged (table bridge shed decides), seen here only with br_netfilter.
    `add rule inet shed forward iifname ${b} ip daddr ${subnet.cidr} ip saddr @peers ip daddr @peers accept`,
    `add rule inet shed forward iifname ${b} ip daddr ${subnet.cidr} drop`,
    `add rule inet shed forward iifname ${b} ip saddr vmap @egress`,
    `add rule inet shed forward iifname ${b} drop`,
    `add rule inet shed forward oifname ${b} drop`,
    `add rule inet shed input iifname != ${b} accept`,
    'add rule inet shed input ct state established,related accept',
    ...(dns ? [`add rule inet shed input ip daddr ${subnet.gateway} meta l4proto { tcp, udp } th dport 53 accept`] : []),
    `add rule inet shed input iifname ${b} ip saddr vmap @host`,
    'add rule inet shed input goto refuse',
    'add rule bridge shed forward iifname @open oifname @open accept',
    'add rule bridge shed forward iifname @ports oifname @ports drop',
    'add rule bridge shed prerouting ether type ip iifname . ip saddr @bound accept',
    'add rule bridge shed prerouting ether type arp iifname . arp saddr ip @bound accept',
    'add rule bridge shed prerouting drop',
  ];
  return `${declarations()}${lines.join('\n')}\n`;
}

/** The chain of one sandbox is named by its id (sb-…): the sweep maps chains back to sandboxes. */
export const chainOf = (id: string): string => id;

function match(rule: string): string {
  const r = parseEgressRule(rule);
  const dest = r.prefix === 32 ? r.address : `${r.address}/${r.prefix}`;
  return r.port === null ? `ip daddr ${dest}` : `ip daddr ${dest} meta l4proto { tcp, udp } th dport ${r.port}`;
}

/** Adds one sandbox: its chain (deny, then allow, then the default) and its map/set elements. */
export function sandboxRules(id: string, address: string, iface: string, policy: EgressPolicy): string {
  return `${declarations()}${sandboxRuleLines(id, address, iface, policy).join('\n')}\n`;
}

/** sandboxRules without the declarations, one command a line: the base must be there. */
export function sandboxRuleLines(id: string, address: string, iface: string, policy: EgressPolicy): string[] {
  const c = chainOf(id);
  return [
    `add chain inet shed ${c}`,
    `flush chain inet shed ${c}`,
    ...policy.deny.map((r) => `add rule inet shed ${c} ${match(r)} goto refuse`),
    ...policy.allow.map((r) => `add rule inet shed ${c} ${match(r)} accept`),
    policy.allow.length > 0 ? `add rule inet shed ${c} goto refuse` : `add rule inet shed ${c} accept`,
    `add element inet shed egress { ${address} : jump ${c} }`,
    ...(policy.allowHost ? [`add element inet shed host { ${address} : jump ${c} }`] : []),
    `add element bridge shed ports { ${q(iface)} }`,
    ...(policy.allowSandboxes ? [`add element bridge shed open { ${q(iface)} }`, `add element inet shed peers { ${address} }`] : []),
    `add element bridge shed bound { ${q(iface)} . ${address} }`,
  ];
}

/**
 * Removes one sandbox, whatever of it exists: each delete follows an add of the same thing
 * (nft 1.0.6 has no "destroy"), so one transaction succeeds from any partial state.
 */
export function removalRules(id: string, address: string | null, iface: string): string {
  const c = chainOf(id);
  const byAddress = address === null ? [] : [
    `add element inet shed egress { ${address} : jump ${c} }`,
    `delete element inet shed egress { ${address} }`,
    `add element inet shed host { ${address} : jump ${c} }`,
    `delete element inet shed host { ${address} }`,
    `add element bridge shed bound { ${q(iface)} . ${address} }`,
    `delete element bridge shed bound { ${q(iface)} . ${address} }`,
    `add element inet shed peers { ${address} }`,
    `delete element inet shed peers { ${address} }`,
  ];
  const lines = [
    `add chain inet shed ${c}`,
    ...byAddress,
    `delete chain inet shed ${c}`,
    ...['ports', 'open'].flatMap((s) => [`add element bridge shed ${s} { ${q(iface)} }`, `delete element bridge shed ${s} { ${q(iface)} }`]),
  ];
  return `${declarations()}${lines.join('\n')}\n`;
}

/** A spare's port in the bridge's `ports` set (dropping its frames), or out of it (add first: succeeds when absent). */
export function spareRules(iface: string, op: 'add' | 'delete' = 'add'): string {
  const add = `add element bridge shed ports { ${q(iface)} }`;
  return `${op === 'add' ? declarations() : ''}${op === 'add' ? add : `${add}\ndelete element bridge shed ports { ${q(iface)} }`}\n`;
}
