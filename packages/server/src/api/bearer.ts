import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Checks an `Authorization: Bearer …` header against the token in constant time. Both sides
 * are hashed first so the comparison runs over equal lengths and leaks not even the token's
 * length (timingSafeEqual throws on unequal lengths).
 */
export class BearerCheck {
  readonly #digest: Buffer;

  constructor(token: string) {
    this.#digest = sha256(token);
  }

  matches(header: string | undefined): boolean {
    const m = header === undefined ? null : /^Bearer +(\S+) *$/i.exec(header);
    const given = m?.[1];
    // Compare something even when no token was given, so a missing header costs the same.
    const equal = timingSafeEqual(sha256(given ?? ''), this.#digest);
    return given !== undefined && equal;
  }
}

const sha256 = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();
