#!/usr/bin/env node
// shedd: wires the store, the image store and the container driver into core and serves
// the API. SIGTERM/SIGINT stop serving and detach; sandboxes keep running, and the next
// shedd adopts them.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import pino from 'pino';
import { ShedError } from '../core/errors.js';
import { openDb } from '../store/db.js';
import { createBackends } from './backends.js';
import { parseConfig } from './config.js';
import { signalReady } from './ready.js';
import { serve } from './serve.js';

async function main(): Promise<void> {
  const config = parseConfig(process.argv.slice(2), process.env);
  // Logs carry ids, paths and timings; never request bodies (env values, file contents).
  const log = pino({ level: config.logLevel, base: { pid: process.pid } });
  await Promise.all([mkdir(config.dataDir, { recursive: true, mode: 0o711 }), mkdir(config.runDir, { recursive: true, mode: 0o700 })]);
  const db = openDb({ path: join(config.dataDir, 'shed.db') });
  const backends = await createBackends(db, config);
  const running = await serve(backends, { dataDir: config.dataDir, runDir: config.runDir, socketPath: config.socketPath, log });
  log.info({ socket: config.socketPath, dataDir: config.dataDir, runDir: config.runDir }, 'shedd ready');
  signalReady(config.readyFd);
  const stop = (signal: string): void => {
    log.info({ signal }, 'shedd stopping; sandboxes keep running');
    void running.close().finally(() => {
      db.close();
      process.exit(0);
    });
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  const msg = err instanceof ShedError ? `${err.message} (${err.code})` : err instanceof Error ? (err.stack ?? err.message) : String(err);
  process.stderr.write(`shedd: ${msg}\n`);
  process.exit(1);
});
