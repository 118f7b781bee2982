import { isIP } from 'node:net';
import { invalidArgument } from './errors.js';
import type { PublishedPortSpec } from './sandboxes.js';

/** Published ports per sandbox, at most. */
const MAX_PUBLISHED = 64;
/** Where a published port listens unless the user names an address: this host only. */
export const DEFAULT_PUBLISH_IP = '127.0.0.1';

export interface PublishPortCommand {
  hostPort: number;
  port: number;
  /** @default 127.0.0.1 (a non-loopback address is the user's explicit choice) */
  hostIp?: string;
}

/** Checks `--publish` entries and fills in the host address. */
export function buildPublished(ports: readonly PublishPortCommand[] | undefined): PublishedPortSpec[] {
  const out: PublishedPortSpec[] = [];
  if (ports === undefined) return out;
  if (ports.length > MAX_PUBLISHED) throw invalidArgument(`${ports.length} published ports; at most ${MAX_PUBLISHED}`);
  const seen = new Set<string>();
  for (const p of ports) {
    const hostIp = p.hostIp ?? DEFAULT_PUBLISH_IP;
    for (const [field, v] of [['hostPort', p.hostPort], ['port', p.port]] as const) {
      if (!Number.isInteger(v) || v < 1 || v > 65_535) throw invalidArgument(`${field} must be from 1 to 65535; got ${v}`, { [field]: v });
    }
    if (isIP(hostIp) === 0) throw invalidArgument(`hostIp '${hostIp}' is not an IP address`, { hostIp });
    const key = `${hostIp}|${p.hostPort}`;
    if (seen.has(key)) throw invalidArgument(`host port ${hostIp}:${p.hostPort} is published twice`, { hostIp, hostPort: p.hostPort });
    seen.add(key);
    out.push({ hostIp, hostPort: p.hostPort, port: p.port });
  }
  return out;
}
