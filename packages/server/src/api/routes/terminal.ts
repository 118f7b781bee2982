import { ProcessParams, ROUTES, SandboxParams, ShellQuery, TerminalAttachQuery } from '@shed/protocol';
import { SandboxShells, type ShellCommand } from '../../core/shell.js';
import type { Api, ApiDeps } from '../app.js';
import { TerminalSession } from '../terminal-session.js';

/**
 * Terminals over WebSocket (docs/api.md "Terminals"). Everything that can fail before the
 * upgrade — the query, an unknown or stopped sandbox, an unknown process — is an ordinary
 * HTTP error response; after it, failures are an `error` message and a 4xxx close.
 */
export function terminalRoutes(app: Api, { sandboxes, commands }: ApiDeps): void {
  const shells = new SandboxShells(sandboxes, commands);

  app.get(ROUTES.shell, {
    websocket: true,
    schema: { params: SandboxParams, querystring: ShellQuery },
    preHandler: async (req) => void sandboxes.live(req.params.sandbox),
  }, (socket, req) => {
    const session = new TerminalSession(socket);
    shells.start(req.params.sandbox, shellCommand(req.query)).then((proc) => {
      // Nobody can learn the procId of a shell whose client left while it started: end it.
      if (!session.open) return void proc.kill('SIGHUP').catch(() => undefined);
      session.attach(proc);
    }, (err: unknown) => session.fail(err));
  });

  app.get(ROUTES.terminal, {
    websocket: true,
    schema: { params: ProcessParams, querystring: TerminalAttachQuery },
    // Also adopts a process shedd does not follow yet (started before a restart), from the offset asked for.
    preHandler: async (req) => void (await commands.process(req.params.sandbox, req.params.procId, req.query)),
  }, (socket, req) => {
    const session = new TerminalSession(socket);
    commands.process(req.params.sandbox, req.params.procId, req.query).then(
      (proc) => session.attach(proc, req.query.offset),
      (err: unknown) => session.fail(err),
    );
  });
}

function shellCommand(q: ShellQuery): ShellCommand {
  const env: Record<string, string> = {};
  for (const kv of q.env ?? []) {
    const eq = kv.indexOf('=');
    env[kv.slice(0, eq)] = kv.slice(eq + 1); // the schema's pattern guarantees a name and an '='
  }
  return {
    env,
    pty: q.tty === false ? false : { rows: q.rows ?? 24, cols: q.cols ?? 80 },
    ...(q.cmd === undefined ? {} : { argv: q.cmd }),
    ...(q.term === undefined ? {} : { term: q.term }),
    ...(q.cwd === undefined ? {} : { cwd: q.cwd }),
  };
}
