import { execFile } from 'node:child_process';
import { ShedError } from '../core/errors.js';

/**
 * A group name or gid as a gid. Names go through `getent group` (NSS: /etc/group, LDAP, …),
 * which Node has no binding for. A numeric gid is taken as given, like chown(1) does.
 */
export async function resolveGroup(group: string | number): Promise<number> {
  if (typeof group === 'number') return group;
  const line = await new Promise<string | null>((resolve) => {
    execFile('getent', ['group', group], { timeout: 5000 }, (err, stdout) => resolve(err === null ? stdout : null));
  });
  const gid = line === null ? undefined : line.split(':')[2];
  if (gid === undefined || !/^\d+$/.test(gid)) {
    throw new ShedError('invalid_argument', `socketGroup: no group named '${group}'; create it (groupadd ${group}) or give a gid`);
  }
  return Number(gid);
}
