// Reads shedd's TOML settings file. A missing default file means "no file"; a missing file
// that was asked for by name is an error, as is any TOML or schema problem in it.
import { readFile } from 'node:fs/promises';
import { parse, TomlError } from 'smol-toml';
import { ShedError, errorMessage, invalidArgument } from '../core/errors.js';
import { validateLayer, type ConfigLayer } from './config-schema.js';

export const DEFAULT_CONFIG_PATH = '/etc/shed/shedd.toml';

/** Where the file came from decides whether its absence is an error. */
export interface ConfigFileRef {
  readonly path: string;
  /** true for --config and $SHED_CONFIG: the file must exist. */
  readonly explicit: boolean;
}

/** The file's settings, or undefined when the default file does not exist. */
export async function readConfigFile(ref: ConfigFileRef): Promise<ConfigLayer | undefined> {
  let text: string;
  try {
    text = await readFile(ref.path, 'utf8');
  } catch (err) {
    if (!ref.explicit && isErrno(err, 'ENOENT')) return undefined;
    const code = isErrno(err, 'ENOENT') ? 'invalid_argument' : 'failed_precondition';
    throw new ShedError(code, `cannot read the config file ${ref.path}: ${errorMessage(err)}`, { cause: err });
  }
  return parseConfigText(text, ref.path);
}

/** Parses and validates TOML text; `path` names the file in messages. */
export function parseConfigText(text: string, path: string): ConfigLayer {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    if (err instanceof TomlError) throw invalidArgument(`${path}: not valid TOML at line ${err.line}, column ${err.column}: ${firstLine(err.message)}`);
    throw invalidArgument(`${path}: not valid TOML: ${errorMessage(err)}`);
  }
  return validateLayer(doc, path, (keyPath) => `key '${keyPath}'`);
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? s;
}

function isErrno(err: unknown, code: string): boolean {
  return err instanceof Error && 'code' in err && err.code === code;
}
