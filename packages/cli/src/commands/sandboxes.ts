import { formatSeconds, type EgressPolicy, type SandboxInfo } from '@shed/sdk';
import { connect, type GlobalOptions } from '../connect.js';
import { expiryOptions, type ExpiryFlags } from '../expiry-flags.js';
import { UsageError, ago, pairs, printJson, table } from '../output.js';
import { phasesTable } from '../phases.js';
import { streamCommand } from './run.js';

export interface CreateFlags extends ExpiryFlags {
  name?: string;
  hostname?: string;
  memoryMib?: string;
  cpuMillis?: string;
  pidsMax?: string;
  env?: string[];
  label?: string[];
  publish?: string[];
  network?: string;
  allow?: string[];
  deny?: string[];
  allowHost?: boolean;
  allowSandboxes?: boolean;
}


/** `[HOSTIP:]HOSTPORT:PORT`; an IPv6 HOSTIP goes in brackets: `[::1]:8080:80`. */
export function parsePublish(spec: string): { hostPort: number; port: number; hostIp?: string } {
  const m = /^(?:(\[[0-9a-fA-F:.]+\]|[0-9.]+):)?([0-9]{1,5}):([0-9]{1,5})$/.exec(spec);
  if (m === null) throw new UsageError(`--publish '${spec}' is not [HOSTIP:]HOSTPORT:PORT (e.g. 8080:80 or 0.0.0.0:8080:80)`);
  const hostIp = m[1]?.replace(/^\[|\]$/g, '');
  return { hostPort: Number(m[2]), port: Number(m[3]), ...(hostIp === undefined ? {} : { hostIp }) };
}

export async function createCommand(image: string, f: CreateFlags, g: GlobalOptions): Promise<number> {
  const shed = await connect(g);
  try {
    const sb = await shed.sandboxes.create({
      image,
      ...(f.name === undefined ? {} : { name: f.name }),
      ...(f.hostname === undefined ? {} : { hostname: f.hostname }),
      ...(f.memoryMib === undefined ? {} : { memoryMiB: Number(f.memoryMib) }),
      ...(f.cpuMillis === undefined ? {} : { cpuMillis: Number(f.cpuMillis) }),
      ...(f.pidsMax === undefined ? {} : { pidsMax: Number(f.pidsMax) }),
      env: pairs(f.env, 'env'),
      labels: pairs(f.label, 'label'),
      ...expiryOptions(f),
      ...(f.publish === undefined ? {} : { ports: f.publish.map(parsePublish) }),
      ...networkOptions(f),
    });
    if (g.json === true) printJson(sb.info);
    else process.stdout.write(`${sb.id}\n`);
    return 0;
  } finally {
    shed.close();
  }
}

/** --network and the egress flags; the server checks them (a policy without 'nat' is refused there). */
function networkOptions(f: CreateFlags): { network?: 'none' | 'nat'; egress?: EgressPolicy } {
  // The server's schema rejects any other mode by name; the cast only carries the string there.
  const network = f.network as 'none' | 'nat' | undefined;
  const egress: EgressPolicy = {
    ...(f.allow === undefined ? {} : { allow: f.allow }),
    ...(f.deny === undefined ? {} : { deny: f.deny }),
    ...(f.allowHost === true ? { allowHost: true } : {}),
    ...(f.allowSandboxes === true ? { allowSandboxes: true } : {}),
  };
  return { ...(network === undefined ? {} : { network }), ...(Object.keys(egress).length === 0 ? {} : { egress }) };
}

export async function execCommand(ref: string, argv: string[], f: { env?: string[]; interactive?: boolean; cwd?: string }, g: GlobalOptions): Promise<number> {
  const shed = await connect(g);
  try {
    const sb = await shed.sandboxes.get(ref);
    return await streamCommand(sb, argv, { env: pairs(f.env, 'env'), interactive: f.interactive === true, cwd: f.cwd });
  } finally {
    shed.close();
  }
}

export async function lsCommand(f: { label?: string[]; all?: boolean }, g: GlobalOptions): Promise<number> {
  const shed = await connect(g);
  try {
    const list = (await shed.sandboxes.list({ labels: pairs(f.label, 'label'), all: f.all === true })).map((s) => s.info);
    if (g.json === true) printJson(list);
    else {
      const rows = list.map((s) => [s.id, s.name ?? (s.pool === undefined ? '' : `(pool ${s.pool})`), s.image, s.state, ago(s.createdAt), expiry(s)]);
      process.stdout.write(table(['ID', 'NAME', 'IMAGE', 'STATE', 'CREATED', 'EXPIRES'], rows));
    }
    return 0;
  } finally {
    shed.close();
  }
}

export async function inspectCommand(ref: string, g: GlobalOptions): Promise<number> {
  const shed = await connect(g);
  try {
    const info = (await shed.sandboxes.get(ref)).info;
    if (g.json === true) printJson(info);
    else process.stdout.write(describe(info));
    return 0;
  } finally {
    shed.close();
  }
}

/** 'in 9m (delete)', 'idle 5m (stop)', both, or '-'. */
export function expiry(s: SandboxInfo): string {
  const parts: string[] = [];
  if (s.expiresAt !== null) parts.push(`in ${formatSeconds((Date.parse(s.expiresAt) - Date.now()) / 1000)} (${s.onExpire ?? 'delete'})`);
  if (s.idleTimeoutSeconds !== null) parts.push(`idle ${formatSeconds(s.idleTimeoutSeconds)} (${s.onExpire ?? 'stop'})`);
  return parts.length === 0 ? '-' : parts.join(', ');
}

function network(s: SandboxInfo): string {
  if (s.network !== 'nat') return s.network;
  const e = s.egress;
  const policy = e === null ? [] : [
    ...(e.allow.length > 0 ? [`allow ${e.allow.join(' ')}`] : []), ...(e.deny.length > 0 ? [`deny ${e.deny.join(' ')}`] : []),
    ...(e.allowHost ? ['host allowed'] : []), ...(e.allowSandboxes ? ['sandboxes allowed'] : []),
  ];
  return [`nat, address ${s.address ?? '-'}`, ...policy].join('; ');
}

function describe(s: SandboxInfo): string {
  const lines = [
    `id:         ${s.id}`, `name:       ${s.name ?? '-'}`, `image:      ${s.image} (${s.imageDigest})`, `driver:     ${s.driver}`,
    `state:      ${s.state}${s.stateReason === null ? '' : ` (${s.stateReason})`}`, `hostname:   ${s.hostname}`,
    `resources:  ${s.memoryMiB} MiB, ${s.cpuMillis / 1000} CPU, ${s.pidsMax} pids`, `network:    ${network(s)}`,
    `created:    ${s.createdAt} (${ago(s.createdAt)})`, `expires:    ${expiry(s)}`,
  ];
  if (s.fromSnapshot !== undefined) lines.push(`forked:     from snapshot ${s.fromSnapshot}`);
  for (const p of s.ports ?? []) lines.push(`published:  ${p.hostIp ?? '127.0.0.1'}:${p.hostPort} -> ${p.port}`);
  lines.push(`created by: ${s.createPath === 'warm' ? `a warm claim from pool ${s.claimedFrom ?? '?'}` : 'a cold create'}`);
  if (s.pool !== undefined) lines.push(`pool:       free member of ${s.pool}`);
  if (s.lastError !== null) lines.push(`last error: ${s.lastError.code}: ${s.lastError.message}`);
  for (const [k, v] of Object.entries(s.labels)) lines.push(`label:      ${k}=${v}`);
  const phases = phasesTable(s.timings);
  return lines.join('\n') + '\n' + (phases === '' ? '' : `\n${phases}`);
}

export async function lifecycleCommand(verb: 'rm' | 'stop' | 'start', refs: string[], g: GlobalOptions): Promise<number> {
  const shed = await connect(g);
  try {
    for (const ref of refs) {
      const sb = await shed.sandboxes.get(ref);
      if (verb === 'rm') await sb.delete();
      else if (verb === 'stop') await sb.stop();
      else await sb.start();
      if (g.json !== true) process.stdout.write(`${ref}\n`);
    }
    if (g.json === true) printJson({ [verb === 'rm' ? 'deleted' : verb === 'stop' ? 'stopped' : 'started']: refs });
    return 0;
  } finally {
    shed.close();
  }
}
