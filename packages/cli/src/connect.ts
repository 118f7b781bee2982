import { Shed, ShedApiError } from '@shed/sdk';
import { spawn } from 'node:child_process';
import { accessSync, closeSync, constants, existsSync, mkdirSync, openSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface GlobalOptions {
  socket?: string;
  /** shedd's TCP listener (URL or HOST:PORT); the token comes from $SHED_TOKEN. */
  host?: string;
  json?: boolean;
}

/** How to run shedd: a node script (its JS entry) or an executable found in PATH. */
export interface SheddCommand {
  readonly file: string;
  readonly args: readonly string[];
}

/**
 * Where shedd is: $SHED_SHEDD; else @shed/server's build beside this CLI (a checkout or an
 * install of the workspace); else `shedd` in PATH.
 */
export function sheddCommand(): SheddCommand {
  const fromEnv = process.env['SHED_SHEDD'];
  if (fromEnv !== undefined && fromEnv !== '') return { file: process.execPath, args: [fromEnv] };
  const here = dirname(fileURLToPath(import.meta.url));
  const sibling = join(here, '..', '..', 'server', 'dist', 'daemon', 'main.js');
  if (existsSync(sibling)) return { file: process.execPath, args: [sibling] };
  const inPath = (process.env['PATH'] ?? '').split(delimiter).map((d) => join(d, 'shedd')).find(isExecutable);
  if (inPath !== undefined) return { file: inPath, args: [] };
  throw new ShedApiError('unavailable', `shedd is not running and cannot be found (looked for ${sibling} and 'shedd' in PATH); build shed (npx tsc -b) or set SHED_SHEDD`);
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function runDir(): string {
  return process.env['SHED_RUN_DIR'] ?? '/run/shed';
}

/** --socket, else $SHED_SOCKET, else shed.sock in $SHED_RUN_DIR: where shedd listens by default too. */
export function socketPathOf(g: GlobalOptions): string | undefined {
  const runDirEnv = process.env['SHED_RUN_DIR'];
  return g.socket ?? process.env['SHED_SOCKET'] ?? (runDirEnv === undefined ? undefined : join(runDirEnv, 'shed.sock'));
}

/**
 * Connects to shedd, starting it when its socket does not answer. The shedd started here
 * keeps running after this command, like any daemon (sandboxes never depend on the CLI):
 * it runs in its own session, logs to <runDir>/shedd.log, and says it is ready by writing a
 * line to the pipe it inherited as fd 3. No polling.
 */
export async function connect(g: GlobalOptions): Promise<Shed> {
  // A remote shedd (--host, $SHED_HOST) is never started from here. --socket beats $SHED_HOST.
  const host = g.host ?? (g.socket === undefined ? nonEmpty(process.env['SHED_HOST']) : undefined);
  if (host !== undefined) return Shed.connect({ url: host });
  const socketPath = socketPathOf(g);
  const opts = socketPath === undefined ? {} : { socketPath };
  try {
    return await Shed.connect(opts);
  } catch (err) {
    if (!(err instanceof ShedApiError) || err.code !== 'unavailable' || err.status !== 0) throw err;
    try {
      await startDaemon(socketPath);
    } catch (startErr) {
      // Another shed command may have started one at the same moment, which won the lock.
      const other = await Shed.connect(opts).catch(() => undefined);
      if (other === undefined) throw startErr;
      return other;
    }
    return Shed.connect(opts);
  }
}

const nonEmpty = (s: string | undefined): string | undefined => (s === '' ? undefined : s);

async function startDaemon(socketPath: string | undefined): Promise<void> {
  const dir = runDir();
  mkdirSync(dir, { recursive: true, mode: 0o711 });
  const logPath = join(dir, 'shedd.log');
  const cmd = sheddCommand();
  const log = openSync(logPath, 'a', 0o600);
  const args = [...cmd.args, '--ready-fd', '3', ...(socketPath === undefined ? [] : ['--socket', socketPath])];
  // cwd '/': a daemon must not keep the caller's working directory busy.
  const child = spawn(cmd.file, args, { detached: true, cwd: '/', stdio: ['ignore', log, log, 'pipe'] });
  closeSync(log);
  const ready = child.stdio[3];
  if (ready === null || ready === undefined) throw new ShedApiError('internal', 'could not open the readiness pipe to shedd');
  const ok = await new Promise<boolean>((resolve) => {
    let text = '';
    ready.on('data', (b: Buffer) => {
      text += b.toString();
      if (text.includes('\n')) resolve(text.startsWith('READY'));
    });
    ready.on('end', () => resolve(text.startsWith('READY')));
    child.on('exit', () => resolve(false));
  });
  ready.destroy();
  child.unref();
  if (!ok) throw new ShedApiError('unavailable', `shedd failed to start; see ${logPath}`);
  process.stderr.write(`shed: started shedd (pid ${child.pid}); it keeps running, logging to ${logPath} (stop it with: kill ${child.pid})\n`);
}
