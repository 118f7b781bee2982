// Addresses already in use on the host, which a lease must skip: every interface's own
// addresses and every neighbour the kernel knows (something answering ARP for it). Read from
// os.networkInterfaces() and /proc/net/arp (the IPv4 neighbour table) rather than `ip -json`:
// this runs on every 'nat' create, and a file read costs no process spawn. (libuv lists only
// running interfaces: an address on a down one is not seen; the neighbour table still is.)
import { readFile } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import { runTool } from './tools.js';

export async function hostClaimedAddresses(): Promise<Set<string>> {
  const claimed = new Set<string>();
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4') claimed.add(a.address);
  }
  for (const ip of parseArpTable(await readFile('/proc/net/arp', 'utf8').catch(() => ''))) claimed.add(ip);
  return claimed;
}

/**
 * /proc/net/arp: a header line, then "IP HWtype Flags HWaddress Mask Device". Entries with
 * flags 0 are incomplete (asked, never answered) and claim nothing.
 */
export function parseArpTable(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n').slice(1)) {
    const [ip, , flags] = line.trim().split(/\s+/);
    if (ip !== undefined && /^\d+\.\d+\.\d+\.\d+$/.test(ip) && flags !== undefined && flags !== '0x0') out.push(ip);
  }
  return out;
}

/**
 * Whether the interface exists with `address` on it (the bridge is set up). Asked of `ip`, not
 * os.networkInterfaces(): libuv lists only running interfaces, and a bridge whose last port
 * went is up but not running (NO-CARRIER).
 */
export async function hasAddress(iface: string, address: string): Promise<boolean> {
  const r = await runTool('ip', ['-json', 'addr', 'show', 'dev', iface]);
  if (r.exitCode !== 0) return false;
  const parsed: unknown = JSON.parse(r.stdout || '[]');
  if (!Array.isArray(parsed)) return false;
  return parsed.some((link: unknown) => isRecord(link) && Array.isArray(link['addr_info'])
    && link['addr_info'].some((a: unknown) => isRecord(a) && a['local'] === address));
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
