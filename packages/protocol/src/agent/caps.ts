// Capability bits of docs/protocol.md ("Capability bits"): the one table of them.
import { keysOf } from './keys.js';

export const CAPABILITY_BITS = {
  exec: 0,
  pty: 1,
  attach: 2,
  files: 3,
  configure: 4,
  credit: 5,
  tcp: 6,
} as const;

export type Capability = keyof typeof CAPABILITY_BITS;

/** The names of the bits set in `mask`; bits this table does not know are left out. */
export function capsFromMask(mask: bigint): Set<Capability> {
  return new Set(keysOf(CAPABILITY_BITS).filter((c) => (mask >> BigInt(CAPABILITY_BITS[c])) & 1n));
}

export function capsToMask(caps: Iterable<Capability>): bigint {
  let mask = 0n;
  for (const c of caps) mask |= 1n << BigInt(CAPABILITY_BITS[c]);
  return mask;
}
