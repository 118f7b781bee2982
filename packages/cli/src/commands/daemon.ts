import { spawn } from 'node:child_process';
import { sheddCommand, type GlobalOptions } from '../connect.js';

/** `shed daemon`: shedd in the foreground, its signals forwarded, its status ours. */
export async function daemonCommand(args: string[], g: GlobalOptions): Promise<number> {
  const extra = g.socket === undefined ? [] : ['--socket', g.socket];
  const shedd = sheddCommand();
  const child = spawn(shedd.file, [...shedd.args, ...extra, ...args], { stdio: 'inherit' });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => child.kill(sig));
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal === null ? 1 : 128 + 15))));
}
