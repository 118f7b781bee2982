import type { DirListEntry, FileStatResponse, ImageInfo as WireImage, ProcessExit, PruneImagesResponse, SandboxInfo } from '@shed/protocol';
import type { AgentDirEntry, AgentExit, AgentFileStat } from '../core/agent-port.js';
import type { ImageInfo, PruneResult } from '../core/images.js';
import type { PhaseTimings } from '../core/phase-timer.js';
import { expiresAt } from '../core/expiry.js';
import type { SandboxRecord } from '../core/sandboxes.js';

// Core values → wire values. Only shape changes here (times as ISO strings, flattened
// resources); nothing is decided.

export function sandboxInfo(rec: SandboxRecord, lastExec?: PhaseTimings): SandboxInfo {
  return {
    id: rec.id,
    name: rec.name,
    image: rec.spec.image,
    imageDigest: rec.imageDigest,
    driver: rec.driver,
    state: rec.state,
    stateReason: rec.stateReason,
    lastError: rec.lastError,
    hostname: rec.spec.hostname,
    memoryMiB: rec.spec.resources.memoryMiB,
    cpuMillis: rec.spec.resources.cpuMillis,
    pidsMax: rec.spec.resources.pidsMax,
    network: rec.spec.network,
    egress: rec.spec.egress === undefined ? null : { ...rec.spec.egress, allow: [...rec.spec.egress.allow], deny: [...rec.spec.egress.deny] },
    address: rec.address ?? null,
    env: { ...rec.spec.env },
    labels: { ...rec.spec.labels },
    ttlSeconds: rec.spec.ttlSeconds ?? null,
    idleTimeoutSeconds: rec.spec.idleTimeoutSeconds ?? null,
    onExpire: rec.spec.ttlSeconds === undefined && rec.spec.idleTimeoutSeconds === undefined ? null : rec.spec.onExpire ?? null,
    expiresAt: nullableIso(expiresAt(rec)),
    lastActiveAt: nullableIso(rec.lastActiveAt),
    ...(rec.spec.fromLayer === undefined ? {} : { fromSnapshot: rec.spec.fromLayer }),
    ...(rec.spec.ports === undefined ? {} : { ports: rec.spec.ports.map((p) => ({ ...p })) }),
    createPath: rec.claimedFrom === undefined ? 'cold' : 'warm',
    ...(rec.claimedFrom === undefined ? {} : { claimedFrom: rec.claimedFrom }),
    ...(rec.pool === undefined ? {} : { pool: rec.pool }),
    timings: { ...rec.timings, ...(lastExec === undefined ? {} : { lastExec }) },
    createdAt: iso(rec.createdAt),
    updatedAt: iso(rec.updatedAt),
  };
}

export function processExit(exit: AgentExit): ProcessExit {
  return { exitCode: exit.exitCode, signal: exit.signal, timedOut: exit.timedOut };
}

export function fileStat(path: string, s: AgentFileStat): FileStatResponse {
  return {
    path, type: s.type, mode: s.mode & 0o7777, sizeBytes: s.sizeBytes, uid: s.uid, gid: s.gid, mtime: isoNs(s.mtimeNs),
    ...(s.target === undefined ? {} : { target: s.target }),
  };
}

export function dirEntry(e: AgentDirEntry): DirListEntry {
  return {
    name: e.name, type: e.type, mode: e.mode & 0o7777, sizeBytes: e.sizeBytes, mtime: isoNs(e.mtimeNs),
    ...(e.target === undefined ? {} : { target: e.target }),
  };
}

export function imageInfo(i: ImageInfo): WireImage {
  return { digest: i.digest, names: [...i.names], sizeBytes: i.sizeBytes, createdAt: iso(i.createdAt), lastUsedAt: iso(i.lastUsedAt) };
}

export function pruneResult(r: PruneResult): PruneImagesResponse {
  return { removed: r.deleted.map((d) => d.digest), freedBytes: r.freedBytes };
}

const iso = (ms: number): string => new Date(ms).toISOString();
const nullableIso = (ms: number | null): string | null => (ms === null ? null : iso(ms));
const isoNs = (ns: bigint): string => new Date(Number(ns / 1_000_000n)).toISOString();
