// What core knows about sandbox networking: the modes, the egress policy a 'nat' sandbox is
// created with, and the port (SandboxNetworks) that net/ implements and the daemon wires
// into the container driver. Core decides nothing about bridges or rules; it checks input.
import { EGRESS_RULE_PATTERN, EGRESS_RULES_MAX, type DoctorCheck } from '@shed/protocol';
import { invalidArgument } from './errors.js';
import type { SandboxId } from './ids.js';

/**
 * What a sandbox may reach when its network is 'nat'. Deny rules win; with allow rules,
 * only what they name is reachable. The host itself and other sandboxes are unreachable
 * unless `allowHost` / `allowSandboxes` say so (and then the lists still apply to the host).
 */
export interface EgressPolicy {
  /** IPv4 `CIDR[:PORT]` (a port means TCP and UDP to it). Empty: anywhere not denied. @default [] */
  readonly allow: readonly string[];
  /** IPv4 `CIDR[:PORT]` never reachable. @default [] */
  readonly deny: readonly string[];
  /** The host's own addresses, the daemon's TCP API included. @default false */
  readonly allowHost: boolean;
  /** Other sandboxes on the bridge whose policy allows it too. @default false */
  readonly allowSandboxes: boolean;
}

export const OPEN_EGRESS: EgressPolicy = { allow: [], deny: [], allowHost: false, allowSandboxes: false };

/** Absent (network 'none') or the default policy: what a warm pool's members have. */
export function isOpenEgress(p: EgressPolicy | undefined): boolean {
  return p === undefined || (p.allow.length === 0 && p.deny.length === 0 && !p.allowHost && !p.allowSandboxes);
}

/** One egress rule, parsed: `prefix` bits of `address` (dotted quad), and a port or any. */
export interface EgressRule {
  readonly address: string;
  readonly prefix: number;
  readonly port: number | null;
}

const RULE = new RegExp(EGRESS_RULE_PATTERN);

/** Parses `A.B.C.D[/N][:PORT]`; host bits set under the prefix are an error (a typo more often than intent). */
export function parseEgressRule(text: string): EgressRule {
  if (!RULE.test(text)) throw invalidArgument(`egress rule '${text}' is not IPv4 CIDR[:PORT] (e.g. 10.0.0.0/8, 192.0.2.7:443)`, { rule: text });
  const [cidr = '', portText] = text.split(':');
  const [address = '', prefixText] = cidr.split('/');
  const prefix = prefixText === undefined ? 32 : Number(prefixText);
  const port = portText === undefined ? null : Number(portText);
  if (port !== null && port > 65_535) throw invalidArgument(`egress rule '${text}': port ${port} is above 65535`, { rule: text });
  const value = ipv4ToInt(address);
  const mask = prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
  if ((value & ~mask) >>> 0 !== 0) {
    throw invalidArgument(`egress rule '${text}' has host bits set under /${prefix}; did you mean ${intToIpv4((value & mask) >>> 0)}/${prefix}?`, { rule: text });
  }
  return { address, prefix, port };
}

/** Checks a policy given in a create and fills in defaults. */
export function buildEgress(given: Partial<EgressPolicy> | undefined): EgressPolicy {
  const p = { ...OPEN_EGRESS, ...given };
  for (const [field, list] of [['allow', p.allow], ['deny', p.deny]] as const) {
    if (list.length > EGRESS_RULES_MAX) throw invalidArgument(`egress.${field} has ${list.length} rules; at most ${EGRESS_RULES_MAX}`);
    for (const r of list) parseEgressRule(r);
  }
  return { allow: [...p.allow], deny: [...p.deny], allowHost: p.allowHost, allowSandboxes: p.allowSandboxes };
}

export function ipv4ToInt(address: string): number {
  return address.split('.').reduce((acc, part) => ((acc << 8) | Number(part)) >>> 0, 0);
}

export function intToIpv4(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
}

/**
 * Starts a program with stdin /dev/null and its output appended to `outPath` (the driver's
 * shed-spawn helper, which forks in microseconds where Node's spawn forks the whole daemon).
 */
export interface ProgramRunner {
  run(argv: readonly string[], outPath: string, signal?: AbortSignal): Promise<{ readonly exitCode: number | null; readonly signal: number | null }>;
}

/** Where a sandbox's network lives; decided by the driver before the network is set up. */
export interface NetworkAttachRequest {
  readonly id: SandboxId;
  /**
   * A file the sandbox's network namespace is mounted on (the runtime joins it by path). Its
   * directory is the network's own: attach makes it (or moves a ready one there).
   */
  readonly netnsPath: string;
  /** The resolv.conf the sandbox sees (bind-mounted read-only at /etc/resolv.conf). */
  readonly resolvConfPath: string;
  readonly egress: EgressPolicy;
  /** Runs the network's tools off the daemon's event loop when given; else Node's spawn. */
  readonly runner?: ProgramRunner;
  signal?: AbortSignal;
}

/** A sandbox's network as set up: what the handles record and inspect shows. */
export interface NetworkAttachment {
  readonly address: string;
  /** The host end of its veth pair, on the bridge. */
  readonly hostIface: string;
  readonly netnsPath: string;
  /**
   * Waits for the bridge port and the egress rules, which go on while the runtime starts the
   * sandbox (the netns exists already). Until they are on, the sandbox's traffic is dropped:
   * it fails closed. The create calls it once, when the sandbox is ready, and returns only
   * after it; the network's background work (refilling its spare netns) waits for that call,
   * so it never competes with a runtime start. On failure, `detach` removes everything.
   */
  finish(): Promise<void>;
}

/**
 * The 'nat' network of sandboxes (net/ implements it; the daemon hands it to the driver).
 * `attach` either completes or undoes what it did; `detach` and `sweep` tolerate anything
 * already gone, so they are safe after a crash at any point.
 */
export interface SandboxNetworks {
  /** Creates the netns, veth pair, address lease and resolv.conf of one sandbox; then its rules (`connected`). */
  attach(req: NetworkAttachRequest): Promise<NetworkAttachment>;
  /** Removes a sandbox's rules, host veth and lease (its netns mount goes with its run dir). */
  detach(id: SandboxId): Promise<void>;
  /** Rules, veths and leases of sandboxes that no longer exist; what it removed, one line each. */
  sweep(knownIds: { has(id: SandboxId): boolean }): Promise<string[]>;
  /**
   * Whether `id` is a spare netns the network keeps ready (named like a sandbox): the orphan
   * sweep leaves it alone while this daemon holds it, and sweeps it after a restart.
   */
  isSpare(id: SandboxId): boolean;
  /** `shed doctor`'s checks: nftables, ip forwarding, the bridge. */
  doctorChecks(): Promise<DoctorCheck[]>;
  /** Stops what runs in the daemon (the DNS forwarder) and removes the spare netns; sandboxes keep their network. */
  close(): Promise<void>;
}

/** Address leases, durable (SQLite): one IPv4 address per 'nat' sandbox while it runs. */
export interface LeaseRepo {
  /**
   * Leases the first of `candidates` no other sandbox holds, atomically; an existing lease of
   * the sandbox is returned as is. null when every candidate is taken.
   */
  lease(id: SandboxId, candidates: Iterable<string>): string | null;
  release(id: SandboxId): void;
  /** Hands `from`'s lease to `to` (a spare netns taken by a sandbox): the address, or null when `from` holds none. */
  transfer(from: SandboxId, to: SandboxId): string | null;
  addressOf(id: SandboxId): string | null;
  list(): { id: SandboxId; address: string }[];
}
