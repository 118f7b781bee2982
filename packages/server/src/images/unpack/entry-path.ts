import { invalidArgument } from '../../core/errors.js';
import type { ImageLimits } from '../limits.js';

/** NAME_MAX on every Linux filesystem shed unpacks onto. */
const NAME_MAX = 255;

export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_MARKER = '.wh..wh..opq';

/**
 * Splits an entry or hardlink name into path components inside the rootfs. Leading `./`,
 * repeated and trailing slashes are normalised away; an absolute name or a `..` component is
 * refused (a layer never needs either, and both are how archives escape their root). The
 * empty list is the rootfs itself.
 */
export function entryParts(name: string, limits: Pick<ImageLimits, 'maxPathDepth' | 'maxNameBytes'>, what: string): string[] {
  if (name.includes('\0')) throw invalidArgument(`${what} '${printable(name)}' contains a NUL byte`);
  if (name.startsWith('/')) throw invalidArgument(`${what} '${printable(name)}' is an absolute path; layer entries must be relative to the rootfs`);
  if (Buffer.byteLength(name) > limits.maxNameBytes) {
    throw invalidArgument(`${what} '${printable(name).slice(0, 80)}…' is longer than ${limits.maxNameBytes} bytes`);
  }
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw invalidArgument(`${what} '${printable(name)}' contains '..'; refusing a path that climbs out of the rootfs`);
  if (parts.length > limits.maxPathDepth) {
    throw invalidArgument(`${what} '${printable(name).slice(0, 80)}…' has ${parts.length} path components, over the limit of ${limits.maxPathDepth}`);
  }
  const long = parts.find((p) => Buffer.byteLength(p) > NAME_MAX);
  if (long !== undefined) throw invalidArgument(`${what} '${printable(name).slice(0, 80)}…' has a component longer than ${NAME_MAX} bytes`);
  return parts;
}

/** A name safe to quote in an error message (control characters escaped). */
export function printable(name: string): string {
  return name.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export type Whiteout = { kind: 'opaque' } | { kind: 'remove'; name: string } | { kind: 'meta' };

/** Classifies an entry's last component as a whiteout (OCI image-layer spec), or null. */
export function whiteoutOf(base: string): Whiteout | null {
  if (!base.startsWith(WHITEOUT_PREFIX)) return null;
  if (base === OPAQUE_MARKER) return { kind: 'opaque' };
  // .wh..wh.* other than the opaque marker are AUFS bookkeeping (.wh..wh.plnk): never content.
  if (base.startsWith(`${WHITEOUT_PREFIX}${WHITEOUT_PREFIX}`)) return { kind: 'meta' };
  const name = base.slice(WHITEOUT_PREFIX.length);
  return name === '' ? { kind: 'meta' } : { kind: 'remove', name };
}
