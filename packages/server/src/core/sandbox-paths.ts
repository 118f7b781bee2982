import { LIMITS } from '@shed/protocol';
import { invalidArgument } from './errors.js';

/**
 * Checks and normalises a path inside a sandbox. Paths must be absolute; `.` segments and
 * repeated or trailing slashes are normalised away; a `..` segment is refused rather than
 * resolved, so a path never means something other than what it says. Symlinks are the
 * agent's business: it resolves paths inside the sandbox's own root, so a link can never
 * lead to a host file.
 */
export function sandboxPath(path: string, field = 'path'): string {
  if (path.length === 0 || path.length > LIMITS.pathChars) {
    throw invalidArgument(`${field} must be 1 to ${LIMITS.pathChars} characters`, { [field]: path.slice(0, 200) });
  }
  if (path.includes('\0')) throw invalidArgument(`${field} contains a NUL byte`, { [field]: path.slice(0, 200) });
  if (!path.startsWith('/')) {
    throw invalidArgument(`${field} '${path}' is relative; give an absolute path such as /root/${path}`, { [field]: path });
  }
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) {
    throw invalidArgument(`${field} '${path}' contains '..'; give the absolute path it should reach`, { [field]: path });
  }
  return `/${parts.join('/')}`;
}
