// Who else holds host ids in the range sandboxes are mapped to: a login user whose uid falls
// in it, or a subordinate range (/etc/subuid, /etc/subgid, used by rootless containers) that
// overlaps it, would own sandbox files on the host.
import { readFile } from 'node:fs/promises';
import type { IdMap } from '../../core/driver.js';

export interface IdRange {
  readonly owner: string;
  readonly start: number;
  readonly count: number;
}

/** "owner:start:count" lines of subuid(5); comments and malformed lines are skipped. */
export function parseSubIds(text: string): IdRange[] {
  return text.split('\n').flatMap((line) => {
    const m = /^([^:#\s]+):(\d+):(\d+)$/.exec(line.trim());
    return m?.[1] === undefined ? [] : [{ owner: m[1], start: Number(m[2]), count: Number(m[3]) }];
  });
}

/** passwd(5) or group(5) entries as one-id ranges. */
export function parseIdFile(text: string): IdRange[] {
  return text.split('\n').flatMap((line) => {
    const f = line.split(':');
    return f.length >= 3 && f[0] !== undefined && /^\d+$/.test(f[2] ?? '') ? [{ owner: f[0], start: Number(f[2]), count: 1 }] : [];
  });
}

export const overlaps = (r: IdRange, m: IdMap): boolean => r.start < m.hostId + m.size && m.hostId < r.start + r.count;

/** Descriptions of what overlaps the map, e.g. "/etc/subuid: alice 100000-165535". */
export async function idRangeConflicts(map: IdMap): Promise<string[]> {
  const sources: [string, (t: string) => IdRange[]][] = [
    ['/etc/subuid', parseSubIds], ['/etc/subgid', parseSubIds], ['/etc/passwd', parseIdFile], ['/etc/group', parseIdFile],
  ];
  const found: string[] = [];
  for (const [file, parse] of sources) {
    const text = await readFile(file, 'utf8').catch(() => '');
    for (const r of parse(text).filter((x) => overlaps(x, map))) found.push(`${file}: ${r.owner} ${r.start}-${r.start + r.count - 1}`);
  }
  return found;
}
