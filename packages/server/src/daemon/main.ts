#!/usr/bin/env node
// shedd: wires the store, the image store and the container driver into core and serves
// the API. SIGTERM/SIGINT stop serving and detach; sandboxes keep running, and the next
// shedd adopts them.
import pino from 'pino';
import { errorMessage, ShedError } from '../core/errors.js';
import { armFaultsFromEnv } from '../core/faults.js';
import { sandboxRunRoot } from '../core/sandbox-dirs.js';
import { openDb } from '../store/db.js';
import { createBackends } from './backends.js';
import { startImageCap } from './image-cap.js';
import { loadConfig, type DaemonConfig } from './config.js';
import { prepareDirs } from './dirs.js';
import type { SocketAccess } from './listen.js';
import { LOG_REDACT_PATHS } from './listen-tcp.js';
import { lockDirs } from './lock.js';
import { signalReady } from './ready.js';
import { serve, type ServeOptions } from './serve.js';
import { resolveGroup } from './socket-group.js';
import { readToken } from './token.js';

async function main(): Promise<void> {
  const config = await loadConfig(process.argv.slice(2), process.env);
  // Logs carry ids, paths and timings; never request bodies (env values, file contents) and
  // never the TCP listener's token (censored wherever a request's headers are logged).
  const log = pino({ level: config.logLevel, base: { pid: process.pid }, redact: { paths: LOG_REDACT_PATHS, censor: '[redacted]' } });
  // Settings are checked before anything is created or locked: a bad token file stops here.
  const socketAccess: SocketAccess = { mode: config.socketMode, ...(config.socketGroup === undefined ? {} : { gid: await resolveGroup(config.socketGroup) }) };
  const tcp = config.tcp === undefined ? undefined : { address: config.tcp, token: await readToken(config.token, process.env) };
  if (tcp !== undefined && !isLoopback(tcp.address.host)) log.warn({ tcp: tcp.address }, 'the TCP listener is plain HTTP: the token crosses the network in the clear; put TLS in front of it');
  const faults = armFaultsFromEnv(process.env);
  if (faults.warning !== undefined) log.warn(faults.warning);
  if (faults.armed.length > 0) log.warn({ faults: faults.armed }, 'fault injection armed (tests only)');
  const dbPath = await prepareDirs(config);
  await lockDirs([config.dataDir, config.runDir]);
  const db = openDb({ path: dbPath });
  const backends = await createBackends(db, { ...config, runRoot: sandboxRunRoot(config.runDir), log });
  const stopImageCap = await startImageCap(backends.images, config.images.maxCacheBytes, log);
  const opts: ServeOptions = { dataDir: config.dataDir, runDir: config.runDir, socketPath: config.socketPath, log, socketAccess, ...(tcp === undefined ? {} : { tcp }),
    schedule: { livenessCheckMs: config.livenessIntervalMs, sweepIntervalMs: config.sweepIntervalMs }, pools: config.pools,
  };
  const running = await serve(backends, opts);
  log.info(readyRecord(config, running.tcpAddress), 'shedd ready');
  signalReady(config.readyFd);
  const stop = (signal: string): void => {
    log.info({ signal }, 'shedd stopping; sandboxes keep running');
    stopImageCap();
    void running.close().finally(() => {
      db.close();
      process.exit(0);
    });
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

function readyRecord(config: DaemonConfig, tcp: { host: string; port: number } | undefined): Record<string, unknown> {
  return {
    config: config.configPath ?? null, socket: config.socketPath, socketMode: `0${config.socketMode.toString(8)}`, dataDir: config.dataDir, runDir: config.runDir,
    tcp: tcp === undefined ? null : `${tcp.host}:${tcp.port}`,
  };
}

const isLoopback = (host: string): boolean => host === 'localhost' || host === '::1' || /^127\./.test(host);

main().catch((err: unknown) => {
  const msg = err instanceof ShedError ? `${err.message} (${err.code})` : err instanceof Error ? (err.stack ?? err.message) : errorMessage(err);
  process.stderr.write(`shedd: ${msg}\n`);
  process.exit(1);
});
