// The 'nat' network's settings ([network] in shedd's config) and the subnet arithmetic they
// need. IPv4 only: sandboxes get no IPv6 address and their IPv6 traffic is dropped.
import { invalidArgument } from '../core/errors.js';
import { intToIpv4, ipv4ToInt } from '../core/network.js';

export interface NetworkSettings {
  /** The bridge every 'nat' sandbox's veth joins. @default 'shed0' */
  readonly bridge: string;
  /** IPv4 subnet of the sandboxes; its first host address is the bridge's (their gateway). @default '10.88.0.0/16' */
  readonly subnet: string;
  /** Serve DNS on the bridge address, forwarding to the host's nameservers. @default true */
  readonly dns: boolean;
  /** Where the host's nameservers are read from (the forwarder's upstreams). @default '/etc/resolv.conf' */
  readonly resolvConf: string;
  /**
   * Network namespaces kept ready (veth, address, route, bridge port, lease), so a create
   * takes one and adds only its rules; refilled after each take. 0: none. @default 2
   */
  readonly spareNetns: number;
}

export const DEFAULT_NETWORK: NetworkSettings = { bridge: 'shed0', subnet: '10.88.0.0/16', dns: true, resolvConf: '/etc/resolv.conf', spareNetns: 2 };

/** A subnet with its bridge (gateway) address. */
export interface Subnet {
  readonly cidr: string;
  readonly base: number;
  readonly prefix: number;
  readonly gateway: string;
  /** Number of addresses, network and broadcast included. */
  readonly size: number;
}

const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

/** Parses the configured subnet: a network address with a prefix from /8 to /29. */
export function parseSubnet(cidr: string): Subnet {
  const m = CIDR.exec(cidr);
  const parts = m?.slice(1, 5).map(Number) ?? [];
  const prefix = Number(m?.[5]);
  if (m === null || parts.some((p) => p > 255) || !(prefix >= 8 && prefix <= 29)) {
    throw invalidArgument(`network.subnet '${cidr}' must be an IPv4 CIDR from /8 to /29, e.g. 10.88.0.0/16`);
  }
  const base = ipv4ToInt(parts.join('.'));
  const size = 2 ** (32 - prefix);
  if (base % size !== 0) throw invalidArgument(`network.subnet '${cidr}' has host bits set; did you mean ${intToIpv4(base - (base % size))}/${prefix}?`);
  return { cidr, base, prefix, gateway: intToIpv4(base + 1), size };
}

/** Sandbox addresses in order: past the gateway, short of the broadcast address, none in `claimed`. */
export function* candidateAddresses(s: Subnet, claimed: ReadonlySet<string>): Generator<string> {
  for (let i = 2; i < s.size - 1; i++) {
    const a = intToIpv4(s.base + i);
    if (!claimed.has(a)) yield a;
  }
}

/** Interface names: IFNAMSIZ is 16 with the NUL, so at most 15 characters. */
export const IFACE_PATTERN = /^[a-zA-Z0-9_.-]{1,15}$/;

export const SPARE_NETNS_MAX = 16;

export function checkSettings(s: NetworkSettings): Subnet {
  if (!Number.isInteger(s.spareNetns) || s.spareNetns < 0 || s.spareNetns > SPARE_NETNS_MAX) {
    throw invalidArgument(`network.spareNetns ${s.spareNetns} must be an integer from 0 to ${SPARE_NETNS_MAX}`);
  }
  if (!IFACE_PATTERN.test(s.bridge)) throw invalidArgument(`network.bridge '${s.bridge}' must be 1-15 letters, digits, '_', '.' or '-'`);
  return parseSubnet(s.subnet);
}
