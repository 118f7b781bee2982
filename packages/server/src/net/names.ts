import { isSandboxId, type SandboxId } from '../core/ids.js';

/** The host end of a sandbox's veth pair: 'sh' + the id's 12 hex digits (IFNAMSIZ allows 15). */
export const hostIfaceOf = (id: SandboxId): string => `sh${id.slice(3)}`;

/** The sandbox from a host veth name, or null for a name that is not shed's. */
export const idOfHostIface = (name: string): SandboxId | null => {
  const id = `sb-${name.slice(2)}`;
  return name.startsWith('sh') && isSandboxId(id) ? id : null;
};
