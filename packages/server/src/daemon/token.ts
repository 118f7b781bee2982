// The TCP listener's bearer token: from $SHED_TOKEN, or from a file only root can read. A
// token file others can read is refused, not warned about: the token is root on this host.
import { lstat, readFile } from 'node:fs/promises';
import { ShedError, errorMessage, invalidArgument } from '../core/errors.js';
import type { TokenSource } from './config.js';

/** Short tokens can be guessed; 16 characters of `openssl rand -hex 32` output is the floor. */
const MIN_TOKEN_CHARS = 16;
const GENERATE = 'generate one with: (umask 077; openssl rand -hex 32 > /etc/shed/token)';

export async function readToken(source: TokenSource | undefined, env: NodeJS.ProcessEnv): Promise<string> {
  if (source === undefined) {
    throw new ShedError('failed_precondition', `a TCP listener needs a bearer token: set tokenFile (--token-file) or $SHED_TOKEN; ${GENERATE}`);
  }
  if ('env' in source) return checked(env['SHED_TOKEN'] ?? '', '$SHED_TOKEN');
  const st = await lstat(source.file).catch((err: unknown) => {
    throw new ShedError('failed_precondition', `cannot read the token file ${source.file}: ${errorMessage(err)}; ${GENERATE}`, { cause: err });
  });
  if (!st.isFile()) throw new ShedError('failed_precondition', `the token file ${source.file} is not a regular file`);
  if ((st.mode & 0o077) !== 0) {
    throw new ShedError('failed_precondition', `the token file ${source.file} has mode 0${(st.mode & 0o777).toString(8)}; it must be 0600 (chmod 600 ${source.file}): others could read the token`);
  }
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) throw new ShedError('failed_precondition', `the token file ${source.file} must belong to shedd's user (uid ${uid}), not uid ${st.uid}`);
  return checked((await readFile(source.file, 'utf8')).trim(), source.file);
}

function checked(token: string, where: string): string {
  if (token.length < MIN_TOKEN_CHARS || /\s/.test(token)) {
    throw invalidArgument(`the token in ${where} must be at least ${MIN_TOKEN_CHARS} characters without whitespace; ${GENERATE}`);
  }
  return token;
}
