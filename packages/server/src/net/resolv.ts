// The host's nameservers, from resolv.conf. Loopback ones (systemd-resolved's 127.0.0.53,
// a local dnsmasq) are why sandboxes do not get this list: from a sandbox's netns they are
// its own loopback. The DNS forwarder on the bridge address uses them instead.
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';

export function parseNameservers(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    // A zone index (fe80::1%eth0) is allowed by resolv.conf; node's dgram takes it as is.
    const addr = m?.[1];
    if (addr !== undefined && isIP(addr.split('%')[0] ?? '') !== 0) out.push(addr);
  }
  return out;
}

export async function readNameservers(path: string): Promise<string[]> {
  return parseNameservers(await readFile(path, 'utf8').catch(() => ''));
}

/**
 * The resolv.conf a 'nat' sandbox sees: the forwarder on its gateway; without the forwarder,
 * the host's nameservers that a sandbox can reach (not loopback), if any.
 */
export function sandboxResolvConf(forwarder: string | null, hostServers: readonly string[]): string {
  if (forwarder !== null) return `# written by shed: shedd forwards DNS on the bridge address to the host's nameservers\nnameserver ${forwarder}\n`;
  const usable = hostServers.filter((s) => !isLoopback(s));
  const head = '# written by shed: the host\'s nameservers (network.dns is off; loopback ones are unreachable from a sandbox)\n';
  return head + usable.map((s) => `nameserver ${s}\n`).join('');
}

const isLoopback = (addr: string): boolean => /^127\./.test(addr) || addr === '::1';
