// Reads the overlay xattrs of a layer in one pass with getfattr (Debian's attr package): Node
// has no xattr API. Only `trusted.overlay.*` and `user.overlay.*` are asked for — this host's
// overlay writes trusted.overlay.opaque="y" (user.* only with the `userxattr` mount option).
import { ShedError } from '../../../core/errors.js';
import { CommandError, runCommand } from '../command.js';

/** Relative paths (no leading '/') of the opaque directories under `layerDir`. */
export async function opaqueDirs(layerDir: string, signal?: AbortSignal): Promise<Set<string>> {
  let out: string;
  try {
    // -P: never follow a symlink while walking; -h: read a symlink's own xattrs.
    ({ stdout: out } = await runCommand('getfattr', ['-R', '-P', '-h', '-d', '-m', '^(trusted|user)\\.overlay\\.opaque$', '--absolute-names', layerDir], { signal, timeoutMs: 120_000 }));
  } catch (err) {
    if (err instanceof CommandError && err.exitCode === null && /ENOENT|could not run/.test(err.message)) {
      throw new ShedError('failed_precondition', "getfattr is missing: install Debian's attr package", { cause: err });
    }
    throw err;
  }
  return parseGetfattr(out, layerDir);
}

/** Parses `getfattr -d` output: '# file: <escaped path>' then 'name="value"' lines. */
export function parseGetfattr(out: string, root: string): Set<string> {
  const dirs = new Set<string>();
  let file: string | null = null;
  for (const line of out.split('\n')) {
    if (line.startsWith('# file: ')) file = unescapeOctal(line.slice(8));
    else if (file !== null && /^(trusted|user)\.overlay\.opaque="y"$/.test(line)) dirs.add(relativeTo(root, file));
  }
  return dirs;
}

// getfattr escapes control characters, '\\' and '=' in names as \ooo octal (bytes, UTF-8).
function unescapeOctal(s: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const m = s[i] === '\\' ? /^[0-7]{3}/.exec(s.slice(i + 1)) : null;
    if (m !== null) {
      bytes.push(parseInt(m[0], 8));
      i += 3;
    } else {
      bytes.push(...Buffer.from(s[i] ?? ''));
    }
  }
  return Buffer.from(bytes).toString();
}

function relativeTo(root: string, file: string): string {
  if (file === root) return '';
  if (!file.startsWith(`${root}/`)) throw new ShedError('internal', `getfattr named ${file}, outside ${root}`);
  return file.slice(root.length + 1);
}
