// The network part of the orphan sweep: veths on shed's bridge, nftables chains and elements
// named for sandboxes that do not exist. Leases are swept by the caller first; this finds
// what a lost lease left (the id is in every name: veth sh<hex>, chain sb-<hex>).
import type { SandboxId } from '../core/ids.js';
import { isSandboxId } from '../core/ids.js';
import { idOfHostIface } from './names.js';
import { runTool } from './tools.js';

type Remove = (id: SandboxId, address: string | null) => Promise<void>;

export async function sweepNetwork(bridge: string, unknown: (id: SandboxId) => boolean, remove: Remove): Promise<string[]> {
  const found = new Map<SandboxId, string | null>();
  const note = (id: SandboxId | null, address: string | null = null): void => {
    if (id === null || !unknown(id)) return;
    if (address !== null || !found.has(id)) found.set(id, address ?? found.get(id) ?? null);
  };
  for (const name of await bridgePorts(bridge)) note(idOfHostIface(name));
  const inet = await listTable('inet');
  for (const chain of objectsOf(inet, 'chain')) {
    const name = chain['name'];
    if (typeof name === 'string' && isSandboxId(name)) note(name);
  }
  for (const [address, target] of mapElements(inet, 'egress')) if (isSandboxId(target)) note(target, address);
  for (const name of setElements(await listTable('bridge'), 'ports')) note(idOfHostIface(name));
  const done: string[] = [];
  for (const [id, address] of found) {
    await remove(id, address);
    done.push(`network of ${id}${address === null ? '' : ` (${address})`}`);
  }
  return done;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

async function bridgePorts(bridge: string): Promise<string[]> {
  const r = await runTool('ip', ['-json', 'link', 'show', 'master', bridge]);
  if (r.exitCode !== 0) return [];
  const parsed: unknown = JSON.parse(r.stdout || '[]');
  return Array.isArray(parsed) ? parsed.flatMap((l) => (isRecord(l) && typeof l['ifname'] === 'string' ? [l['ifname']] : [])) : [];
}

/** `nft -j list table <family> shed`'s objects; none when the table does not exist. */
async function listTable(family: 'inet' | 'bridge'): Promise<unknown[]> {
  const r = await runTool('nft', ['-j', 'list', 'table', family, 'shed']);
  if (r.exitCode !== 0) return [];
  const parsed: unknown = JSON.parse(r.stdout);
  return isRecord(parsed) && Array.isArray(parsed['nftables']) ? parsed['nftables'] : [];
}

function objectsOf(list: unknown[], kind: string): Record<string, unknown>[] {
  return list.flatMap((o) => (isRecord(o) && isRecord(o[kind]) ? [o[kind]] : []));
}

function elementsOf(list: unknown[], kind: 'map' | 'set', name: string): unknown[] {
  const obj = objectsOf(list, kind).find((o) => o['name'] === name);
  return Array.isArray(obj?.['elem']) ? obj['elem'] : [];
}

/** Map elements `[address, {jump: {target}}]` as [address, target]. */
export function mapElements(list: unknown[], name: string): [string, string][] {
  return elementsOf(list, 'map', name).flatMap((e) => {
    if (!Array.isArray(e) || typeof e[0] !== 'string' || !isRecord(e[1]) || !isRecord(e[1]['jump'])) return [];
    const target = e[1]['jump']['target'];
    return typeof target === 'string' ? [[e[0], target] as [string, string]] : [];
  });
}

export function setElements(list: unknown[], name: string): string[] {
  return elementsOf(list, 'set', name).flatMap((e) => (typeof e === 'string' ? [e] : []));
}
