/**
 * The keys of a table declared `as const`. Object.keys widens them to string; such a table
 * has exactly its declared keys, which is what makes the cast below sound.
 */
export function keysOf<T extends object>(table: T): (keyof T & string)[] {
  return Object.keys(table) as (keyof T & string)[];
}
