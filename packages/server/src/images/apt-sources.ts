import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** One apt source: a mirror URI and its suites. */
export interface AptSource {
  readonly uri: string;
  readonly suites: readonly string[];
}

/** Parses one-line sources.list text (`deb [opts] URI suite components…`). */
export function parseSourcesList(text: string): AptSource[] {
  const out: AptSource[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line);
    if (m?.[1] && m[2]) out.push({ uri: m[1], suites: [m[2]] });
  }
  return out;
}

/** Parses deb822 `.sources` text: stanzas with Types, URIs and Suites fields. */
export function parseDeb822(text: string): AptSource[] {
  const out: AptSource[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    for (const line of stanza.split('\n')) {
      const m = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
      if (m?.[1] !== undefined && m[2] !== undefined) fields.set(m[1].toLowerCase(), m[2].trim());
    }
    if (!(fields.get('types') ?? '').split(/\s+/).includes('deb') || fields.get('enabled') === 'no') continue;
    const suites = (fields.get('suites') ?? '').split(/\s+/).filter(Boolean);
    for (const uri of (fields.get('uris') ?? '').split(/\s+/).filter(Boolean)) out.push({ uri, suites });
  }
  return out;
}

/** The first mirror of the host's apt configuration that serves `suite` itself (not -security). */
export async function findMirror(suite: string, aptDir = '/etc/apt'): Promise<string | undefined> {
  const sources: AptSource[] = [];
  sources.push(...parseSourcesList(await readFile(join(aptDir, 'sources.list'), 'utf8').catch(() => '')));
  const dir = join(aptDir, 'sources.list.d');
  for (const name of (await readdir(dir).catch(() => [])).sort()) {
    const text = await readFile(join(dir, name), 'utf8').catch(() => '');
    if (name.endsWith('.list')) sources.push(...parseSourcesList(text));
    if (name.endsWith('.sources')) sources.push(...parseDeb822(text));
  }
  return sources.find((s) => s.suites.includes(suite) && /^https?:\/\//.test(s.uri))?.uri;
}
