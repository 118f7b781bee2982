// Every URL of the API, declared once for the server's routes and the SDK's calls.
// `:sandbox` is an id or a name; `:procId` the agent's process id.

export const API_PREFIX = '/v1';

export const ROUTES = {
  health: '/v1/healthz',
  openapi: '/v1/openapi.json',
  doctor: '/v1/system/doctor',
  sandboxes: '/v1/sandboxes',
  sandbox: '/v1/sandboxes/:sandbox',
  stop: '/v1/sandboxes/:sandbox/stop',
  start: '/v1/sandboxes/:sandbox/start',
  exec: '/v1/sandboxes/:sandbox/exec',
  processes: '/v1/sandboxes/:sandbox/processes',
  output: '/v1/sandboxes/:sandbox/processes/:procId/output',
  stdin: '/v1/sandboxes/:sandbox/processes/:procId/stdin',
  kill: '/v1/sandboxes/:sandbox/processes/:procId/kill',
  wait: '/v1/sandboxes/:sandbox/processes/:procId/wait',
  shell: '/v1/sandboxes/:sandbox/shell',
  terminal: '/v1/sandboxes/:sandbox/processes/:procId/terminal',
  fileContent: '/v1/sandboxes/:sandbox/files/content',
  fileStat: '/v1/sandboxes/:sandbox/files/stat',
  fileList: '/v1/sandboxes/:sandbox/files/list',
  fileMkdir: '/v1/sandboxes/:sandbox/files/mkdir',
  fileRemove: '/v1/sandboxes/:sandbox/files/remove',
  fileRename: '/v1/sandboxes/:sandbox/files/rename',
  snapshotSandbox: '/v1/sandboxes/:sandbox/snapshots',
  snapshots: '/v1/snapshots',
  snapshot: '/v1/snapshots/:id',
  fork: '/v1/snapshots/:id/fork',
  commit: '/v1/snapshots/:id/commit',
  diff: '/v1/sandboxes/:sandbox/diff',
  /** Any method; everything after the port is the path in the sandbox. WebSocket upgrades are piped raw. */
  portProxy: '/v1/sandboxes/:sandbox/ports/:port/*',
  /** GET with `Upgrade: shed-tcp`: after 101 the connection carries the port's bytes both ways. */
  portTcp: '/v1/sandboxes/:sandbox/tcp/:port',
  rollback: '/v1/sandboxes/:sandbox/rollback',
  pools: '/v1/pools',
  pool: '/v1/pools/:name',
  images: '/v1/images',
  imagePull: '/v1/images/pull',
  imageImport: '/v1/images/import',
  imageRemove: '/v1/images/remove',
  imagePrune: '/v1/images/prune',
  systemPrune: '/v1/system/prune',
  events: '/v1/events',
  /** Prometheus text format; outside /v1 where scrapers look for it. */
  metrics: '/metrics',
} as const;

export type RouteName = keyof typeof ROUTES;

/** Fills `:name` segments, URL-encoding each value. */
export function routePath(route: string, params: Readonly<Record<string, string | number>>): string {
  return route.replace(/:([a-zA-Z]+)/g, (_, name: string) => {
    const v = params[name];
    if (v === undefined) throw new RangeError(`route ${route} needs :${name}`);
    return encodeURIComponent(String(v));
  });
}

/** Default unix socket of shedd. */
export const DEFAULT_SOCKET_PATH = '/run/shed/shed.sock';
