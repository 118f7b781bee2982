// A small reader of the Prometheus text exposition format
// (https://prometheus.io/docs/instrumenting/exposition_formats/): enough to check /metrics.

/** Samples by `name{k="v",…}` with labels sorted by key (no braces without labels), and the TYPE of each family. */
export interface Exposition {
  readonly samples: ReadonlyMap<string, number>;
  readonly types: ReadonlyMap<string, string>;
}

export function parseExposition(text: string): Exposition {
  const samples = new Map<string, number>();
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type?.[1] !== undefined && type[2] !== undefined) types.set(type[1], type[2]);
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)(?: \d+)?$/.exec(line);
    if (m === null || m[1] === undefined || m[3] === undefined) throw new Error(`not an exposition line: ${line}`);
    const value = Number(m[3] === '+Inf' ? Infinity : m[3]);
    if (Number.isNaN(value) && m[3] !== 'NaN') throw new Error(`bad value in: ${line}`);
    samples.set(key(m[1], labelsOf(m[2] ?? '')), value);
  }
  return { samples, types };
}

/** The key of a sample: `sample(e, 'shed_x_total', { outcome: 'ok' })`. */
export function key(name: string, labels: Readonly<Record<string, string>> = {}): string {
  const parts = Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}="${v}"`);
  return parts.length === 0 ? name : `${name}{${parts.join(',')}}`;
}

function labelsOf(braces: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of braces.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
    if (m[1] !== undefined && m[2] !== undefined) out[m[1]] = m[2].replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
  }
  return out;
}
