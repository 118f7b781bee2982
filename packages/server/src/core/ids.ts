import { randomBytes } from 'node:crypto';

/** Branded ids: a SandboxId is not interchangeable with any other string. */
declare const brand: unique symbol;
export type Brand<T, B extends string> = T & { readonly [brand]: B };

export type SandboxId = Brand<string, 'SandboxId'>;
export type ImageDigest = Brand<string, 'ImageDigest'>;
export type OperationId = Brand<string, 'OperationId'>;

const SANDBOX_ID = /^sb-[0-9a-f]{12}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** Sandbox ids are short enough to type and to fit in kernel object names (IFNAMSIZ is 16). */
export function newSandboxId(): SandboxId {
  // Brand cast: the value is built to match SANDBOX_ID.
  return `sb-${randomBytes(6).toString('hex')}` as SandboxId;
}

export function isSandboxId(value: string): value is SandboxId {
  return SANDBOX_ID.test(value);
}

export function isImageDigest(value: string): value is ImageDigest {
  return DIGEST.test(value);
}

export function newOperationId(): OperationId {
  // Brand cast: a random hex id is a valid OperationId by construction.
  return `op-${randomBytes(8).toString('hex')}` as OperationId;
}
