import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { buildApi, type Api } from '../api/app.js';
import { ShedMetrics } from '../api/metrics.js';
import type { Driver, IdMap } from '../core/driver.js';
import type { SandboxNetworks } from '../core/network.js';
import type { ImageService } from '../core/images.js';
import { SandboxCommands } from '../core/sandbox-commands.js';
import { SandboxFiles } from '../core/sandbox-files.js';
import { SandboxPorts } from '../core/sandbox-ports.js';
import { PortPublisher, restorePublished } from '../core/published-ports.js';
import { LifecycleScheduler, type SchedulerOptions } from '../core/scheduler.js';
import { SandboxService } from '../core/sandbox-service.js';
import type { PoolSpec } from '../core/pools/pool-spec.js';
import type { Persistence } from '../core/sandboxes.js';
import type { TcpAddress } from './config.js';
import { runDoctor } from './doctor/doctor.js';
import { listenOnSocket, type SocketAccess } from './listen.js';
import { listenOnTcp, type TcpListener } from './listen-tcp.js';

export const SHED_VERSION = '0.1.0';

/** The implementations the daemon wires into core. */
export interface Backends {
  readonly driver: Driver;
  readonly images: ImageService;
  readonly store: Persistence;
  readonly idMap: IdMap;
  /** Network 'nat' (also handed to the driver); stopped with the daemon, sandboxes keep it. @default none */
  readonly network?: SandboxNetworks;
  /** A reader of the memory charged to all sandboxes of a run root together, for /metrics. @default not exported */
  readonly sandboxMemoryReader?: (runRoot: string) => () => Promise<number | undefined>;
}

export interface ServeOptions {
  readonly dataDir: string;
  readonly runDir: string;
  readonly socketPath: string;
  readonly log: Logger | false;
  /** Intervals of the liveness check, orphan sweep and expiry. @default SchedulerOptions' defaults */
  readonly schedule?: SchedulerOptions;
  /** Mode and group of the socket. @default root only (0600) */
  readonly socketAccess?: SocketAccess;
  /** Also serve on TCP, every request guarded by this bearer token. @default none */
  readonly tcp?: { readonly address: TcpAddress; readonly token: string };
  /** Warm pools of the config file. @default none */
  readonly pools?: readonly PoolSpec[];
}

export interface Running {
  readonly api: Api;
  readonly sandboxes: SandboxService;
  /** The TCP listener's bound address, when there is one. */
  readonly tcpAddress: TcpAddress | undefined;
  /** Stops serving and detaches from sandboxes; they keep running. */
  close(): Promise<void>;
}

/** Reconciles with what survived the last run, then serves the API on the socket. */
export async function serve(b: Backends, opts: ServeOptions): Promise<Running> {
  const started = Date.now();
  const probe = await b.driver.probe();
  const log = opts.log === false ? silentLog : opts.log;
  // Published ports connect through SandboxPorts, which needs the service: bound after it exists.
  const publisher: PortPublisher = new PortPublisher({ log, connect: (id, port): Promise<Duplex> => ports.connect(id, port) });
  const sandboxes = new SandboxService({
    driver: b.driver, images: b.images, store: b.store, dataDir: opts.dataDir, runDir: opts.runDir, idMap: b.idMap, log, publisher,
  });
  const ports = new SandboxPorts(sandboxes);
  // Before reconciling, so adoptions and deaths at start are counted too.
  const metrics = new ShedMetrics({ sandboxes, ...memoryReader(b, opts.runDir) });
  if (probe.usable) log.info({ driver: b.driver.name, notes: probe.notes }, 'driver ready');
  else log.error({ driver: b.driver.name, notes: probe.notes, problems: probe.problems }, 'the driver cannot run sandboxes on this host; creates will fail');
  const reconcileStart = performance.now();
  const r = await sandboxes.reconcile();
  log.info(
    {
      adopted: r.adopted, stopped: r.stopped, deleted: r.deleted, rolledBack: r.rolledBack, swept: r.swept,
      durationMs: Math.round(performance.now() - reconcileStart),
    },
    `reconciled: ${r.adopted.length} adopted, ${r.stopped.length} marked stopped, ${r.rolledBack.length} creates rolled back, ${r.swept.length} orphans swept`,
  );
  // After adoption: running sandboxes listen on their published ports again.
  await restorePublished(publisher, sandboxes.list([], { all: true }), log);
  // After adoption: the adopted members go back to their pools; the replenisher starts.
  sandboxes.pools.start(opts.pools ?? []);
  const api = await buildApi({
    sandboxes,
    commands: new SandboxCommands(sandboxes),
    files: new SandboxFiles(sandboxes),
    ports,
    images: b.images,
    version: SHED_VERSION,
    logger: opts.log,
    metrics,
    health: () => ({
      status: 'ok', version: SHED_VERSION, pid: process.pid, uptimeMs: Date.now() - started,
      driver: { name: b.driver.name, usable: probe.usable, notes: [...probe.notes], problems: [...probe.problems] },
    }),
    doctor: () => runDoctor({ driver: b.driver, idMap: b.idMap, ...(b.network === undefined ? {} : { network: b.network }) }),
  });
  await listenOnSocket(api, opts.socketPath, opts.socketAccess);
  const tcp = await listenTcp(api, opts);
  const scheduler = new LifecycleScheduler(sandboxes, log, opts.schedule);
  return {
    api,
    sandboxes,
    tcpAddress: tcp?.address,
    close: async () => {
      await tcp?.close();
      // Connections are cut (forceCloseConnections): an output stream may follow a process
      // for hours. The processes keep running; clients reattach to the next shedd.
      await api.close();
      await scheduler.close();
      await sandboxes.close();
      await b.network?.close();
      metrics.close();
    },
  };
}

async function listenTcp(api: Api, opts: ServeOptions): Promise<TcpListener | undefined> {
  if (opts.tcp === undefined) return undefined;
  try {
    return await listenOnTcp(api, opts.tcp.address, opts.tcp.token, opts.log === false ? undefined : opts.log);
  } catch (err) {
    await api.close();
    throw err;
  }
}

function memoryReader(b: Backends, runDir: string): { sandboxMemoryBytes?: () => Promise<number | undefined> } {
  const reader = b.sandboxMemoryReader;
  return reader === undefined ? {} : { sandboxMemoryBytes: reader(join(runDir, 'sandboxes')) };
}

const silentLog = { info: () => undefined, warn: () => undefined, error: () => undefined };
