#!/usr/bin/env node
// shedd: wires the store, the image store and the container driver into core and serves
// the API. SIGTERM/SIGINT stop serving and detach; sandboxes keep running, and the next
// shedd adopts them.
import pino from 'pino';
import { errorMessage, ShedError } from '../core/errors.js';
import { armFaultsFromEnv } from '../core/faults.js';
import { openDb } from '../store/db.js';
import { createBackends } from './backends.js';
import { parseConfig } from './config.js';
import { prepareDirs } from './dirs.js';
import { lockDirs } from './lock.js';
import { signalReady } from './ready.js';
import { serve } from './serve.js';

async function main(): Promise<void> {
  const config = parseConfig(process.argv.slice(2), process.env);
  // Logs carry ids, paths and timings; never request bodies (env values, file contents).
  const log = pino({ level: config.logLevel, base: { pid: process.pid } });
  const faults = armFaultsFromEnv(process.env);
  if (faults.warning !== undefined) log.warn(faults.warning);
  if (faults.armed.length > 0) log.warn({ faults: faults.armed }, 'fault injection armed (tests only)');
  const dbPath = await prepareDirs(config);
  await lockDirs([config.dataDir, config.runDir]);
  const db = openDb({ path: dbPath });
  const backends = await createBackends(db, config.dataDir);
  const running = await serve(backends, {
    dataDir: config.dataDir, runDir: config.runDir, socketPath: config.socketPath, log,
    schedule: { livenessCheckMs: config.livenessIntervalMs, sweepIntervalMs: config.sweepIntervalMs },
  });
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
  const msg = err instanceof ShedError ? `${err.message} (${err.code})` : err instanceof Error ? (err.stack ?? err.message) : errorMessage(err);
  process.stderr.write(`shedd: ${msg}\n`);
  process.exit(1);
});
