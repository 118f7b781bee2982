import { invalidArgument } from '../core/errors.js';

/**
 * Small checked readers for JSON from archives and registries. OCI documents may carry
 * properties shed does not use, and the image spec requires readers to ignore unknown ones,
 * so these check the type of every field shed reads and leave the rest alone.
 */
export type JsonObject = Readonly<Record<string, unknown>>;

export function parseJson(bytes: Buffer | string, what: string): unknown {
  try {
    return JSON.parse(bytes.toString());
  } catch (err) {
    throw invalidArgument(`${what} is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
}

export function asObject(v: unknown, what: string): JsonObject {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalidArgument(`${what} must be a JSON object`);
  return v as JsonObject; // Narrowed: a non-null, non-array object.
}

export function asArray(v: unknown, what: string): readonly unknown[] {
  if (!Array.isArray(v)) throw invalidArgument(`${what} must be a JSON array`);
  return v;
}

export function str(o: JsonObject, key: string, what: string): string {
  const v = o[key];
  if (typeof v !== 'string') throw invalidArgument(`${what}: '${key}' must be a string`);
  return v;
}

export function optStr(o: JsonObject, key: string, what: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw invalidArgument(`${what}: '${key}' must be a string`);
  return v;
}

export function int(o: JsonObject, key: string, what: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw invalidArgument(`${what}: '${key}' must be a non-negative integer`);
  return v;
}

export function strArray(v: unknown, what: string): string[] {
  const a = asArray(v, what);
  if (!a.every((e) => typeof e === 'string')) throw invalidArgument(`${what} must be an array of strings`);
  return a as string[]; // Element cast: every element was checked to be a string.
}

export function optStrMap(o: JsonObject, key: string, what: string): Record<string, string> | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  const m = asObject(v, `${what}: '${key}'`);
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(m)) {
    if (typeof val !== 'string') throw invalidArgument(`${what}: '${key}.${k}' must be a string`);
    out[k] = val;
  }
  return out;
}
