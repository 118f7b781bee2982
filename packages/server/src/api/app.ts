import swagger from '@fastify/swagger';
import websocket from '@fastify/websocket';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { LIMITS, ROUTES, type DoctorResponse, type HealthResponse } from '@shed/protocol';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type RawServerDefault } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { ImageService } from '../core/images.js';
import type { SandboxCommands } from '../core/sandbox-commands.js';
import type { SandboxFiles } from '../core/sandbox-files.js';
import type { SandboxPorts } from '../core/sandbox-ports.js';
import type { SandboxService } from '../core/sandbox-service.js';
import { errorBody, httpStatus, toShedError } from './errors.js';
import type { ShedMetrics } from './metrics.js';
import { fileRoutes } from './routes/files.js';
import { imageRoutes } from './routes/images.js';
import { observeRoutes } from './routes/observe.js';
import { poolRoutes } from './routes/pools.js';
import { portRoutes } from './routes/ports.js';
import { processRoutes } from './routes/processes.js';
import { sandboxRoutes } from './routes/sandboxes.js';
import { snapshotRoutes } from './routes/snapshots.js';
import { systemRoutes } from './routes/system.js';
import { terminalRoutes } from './routes/terminal.js';
import { websocketOptions } from './websocket.js';
import { validatorCompiler } from './validation.js';

export type Api = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, FastifyBaseLogger, TypeBoxTypeProvider>;

/** What the routes call: core's services and the image store. */
export interface ApiDeps {
  readonly sandboxes: SandboxService;
  readonly commands: SandboxCommands;
  readonly files: SandboxFiles;
  readonly ports: SandboxPorts;
  readonly images: ImageService;
  readonly health: () => HealthResponse;
  /** Runs `shed doctor`'s host checks (they live below the API; the daemon wires them). */
  readonly doctor: () => Promise<DoctorResponse>;
  /** Served at /metrics; counts every request. */
  readonly metrics: ShedMetrics;
  readonly version: string;
  /** Request logging; false in tests. */
  readonly logger: Logger | false;
}

/** Raw bodies (file contents, stdin, image tars) reach handlers as streams, never buffered. */
const STREAM_TYPES = ['application/octet-stream', 'application/x-tar'];

export async function buildApi(deps: ApiDeps): Promise<Api> {
  const loggerInstance: FastifyBaseLogger | undefined = deps.logger === false ? undefined : deps.logger;
  const app: Api = Fastify({
    ...(loggerInstance === undefined ? { logger: false } : { loggerInstance }),
    // Two log lines per request would be most of the log and a sync write on every exec;
    // core logs what changes (creates, deletes, reconciles) and errors are logged below.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: LIMITS.jsonBodyBytes,
    // Requests arrive over a root-only unix socket; a sandbox id or name is short.
    routerOptions: { maxParamLength: 200 },
    // Streams (process output, file reads) may stay open for as long as a process runs.
    requestTimeout: 0,
    // So close() does not wait for those streams: shutting down detaches, it does not drain.
    forceCloseConnections: true,
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.addContentTypeParser(STREAM_TYPES, (_req, payload, done) => done(null, payload));
  app.setErrorHandler((err, request, reply) => {
    const e = toShedError(err);
    const status = httpStatus(e.code);
    if (status >= 500) request.log.error({ err, code: e.code }, e.message);
    else request.log.info({ code: e.code }, e.message);
    void reply.status(status).type('application/json').send(errorBody(e));
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send({ error: { code: 'not_found', message: `no route ${request.method} ${request.url}; see ${ROUTES.openapi}`, details: {} } });
  });
  deps.metrics.countRequests(app);
  await app.register(swagger, {
    openapi: { info: { title: 'shed', description: 'Sandboxes for AI agents, over a unix socket', version: deps.version } },
  });
  // Before the routes: the plugin must see every route to refuse upgrades on plain ones.
  await app.register(websocket, websocketOptions);
  await app.register(async (api) => {
    systemRoutes(api, deps);
    sandboxRoutes(api, deps);
    snapshotRoutes(api, deps);
    poolRoutes(api, deps);
    processRoutes(api, deps);
    fileRoutes(api, deps);
    imageRoutes(api, deps);
    observeRoutes(api, deps);
    terminalRoutes(api, deps);
    portRoutes(api, deps);
  });
  return app;
}
