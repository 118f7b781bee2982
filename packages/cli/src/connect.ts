import { Shed, ShedApiError } from '@shed/sdk';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface GlobalOptions {
  socket?: string;
  json?: boolean;
}

/** Where shedd lives: $SHED_SHEDD, else beside this CLI in the shed repository or install. */
export function sheddPath(): string {
  const fromEnv = process.env['SHED_SHEDD'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const here = dirname(fileURLToPath(import.meta.url));
  return join(here, '..', '..', 'server', 'dist', 'daemon', 'main.js');
}

export function runDir(): string {
  return process.env['SHED_RUN_DIR'] ?? '/run/shed';
}

/**
 * Connects to shedd, starting it when its socket does not answer: shedd runs detached
 * (sandboxes never depend on this CLI), logs to <runDir>/shedd.log, and says it is ready by
 * writing a line to the pipe it inherited as fd 3. No polling.
 */
export async function connect(g: GlobalOptions): Promise<Shed> {
  const socketPath = g.socket ?? process.env['SHED_SOCKET'];
  try {
    return await Shed.connect(socketPath === undefined ? {} : { socketPath });
  } catch (err) {
    if (!(err instanceof ShedApiError) || err.code !== 'unavailable' || err.status !== 0) throw err;
    await startDaemon(socketPath);
    return Shed.connect(socketPath === undefined ? {} : { socketPath });
  }
}

async function startDaemon(socketPath: string | undefined): Promise<void> {
  const dir = runDir();
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const logPath = join(dir, 'shedd.log');
  const log = openSync(logPath, 'a', 0o600);
  const main = sheddPath();
  if (!existsSync(main)) throw new ShedApiError('unavailable', `shedd is not running and ${main} does not exist; build shed (npx tsc -b) or set SHED_SHEDD`);
  const args = [main, '--ready-fd', '3', ...(socketPath === undefined ? [] : ['--socket', socketPath])];
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', log, log, 'pipe'] });
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
}
