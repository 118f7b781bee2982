// The terminal WebSocket (docs/api.md "Terminals"): binary messages carry terminal bytes
// both ways; text messages are the small JSON control messages declared here. The server
// validates every client message against TerminalClientMessage and closes on anything else.
import { Type, type Static } from '@sinclair/typebox';
import { Closed, Nullable } from './common.js';
import { ErrorBody } from './errors.js';
import { LIMITS } from './limits.js';

const dimension = (description: string, dflt?: number) =>
  Type.Integer({ minimum: 1, maximum: LIMITS.terminalSize.max, description, ...(dflt === undefined ? {} : { default: dflt }) });
const Size = { cols: dimension('Terminal columns'), rows: dimension('Terminal rows') };

const Signal = Type.Union([Type.String({ pattern: '^SIG[A-Z0-9+-]+$' }), Type.Integer({ minimum: 1, maximum: 64 })]);

/** Query of `GET …/shell` (a WebSocket upgrade). Repeat `cmd` for each argument and `env` for each KEY=VALUE. */
export const ShellQuery = Closed({
  cols: Type.Optional(dimension('Terminal columns', 80)),
  rows: Type.Optional(dimension('Terminal rows', 24)),
  cmd: Type.Optional(Type.Array(Type.String({ maxLength: LIMITS.argChars }), {
    minItems: 1, maxItems: LIMITS.argvMax, description: "Program and arguments; default: the image's shell (SHELL, else the user's /etc/passwd shell, else /bin/sh)",
  })),
  env: Type.Optional(Type.Array(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*=', maxLength: LIMITS.envValueChars }), {
    maxItems: LIMITS.envMax, description: "KEY=VALUE on top of the image's and the sandbox's environment",
  })),
  term: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9._+-]{1,64}$', default: 'xterm-256color', description: 'TERM of the process' })),
  cwd: Type.Optional(Type.String({ minLength: 1, maxLength: LIMITS.pathChars })),
  tty: Type.Optional(Type.Boolean({ default: true, description: 'false: pipes instead of a pty; stdout and stderr arrive merged' })),
});
export type ShellQuery = Static<typeof ShellQuery>;

/** Query of `GET …/processes/:procId/terminal` (a WebSocket upgrade that reattaches). */
export const TerminalAttachQuery = Closed({
  offset: Type.Optional(Type.Integer({ minimum: 0, description: "Replay output from this offset (from the agent's buffer); default: where the last reader stopped" })),
});
export type TerminalAttachQuery = Static<typeof TerminalAttachQuery>;

/** Client → server control messages. */
export const TerminalClientMessage = Type.Union([
  Closed({ type: Type.Literal('resize'), ...Size }),
  Closed({ type: Type.Literal('signal'), signal: Signal }),
  Closed({ type: Type.Literal('eof') }, { description: 'Close stdin (on a pty: the EOF character)' }),
]);
export type TerminalClientMessage = Static<typeof TerminalClientMessage>;

/** Server → client control messages: `started` first, then at most one `exit` or `error`, then the close. */
export const TerminalServerMessage = Type.Union([
  Closed({
    type: Type.Literal('started'), procId: Type.Integer(), pid: Type.Integer(),
    offset: Type.Integer({ description: 'Output offset of the first byte that follows; add the bytes received to resume later' }),
  }),
  Closed({
    type: Type.Literal('exit'), exitCode: Nullable(Type.Integer()), signal: Nullable(Type.String()), timedOut: Type.Boolean(),
    offset: Type.Integer({ description: 'End of the output: everything before it was sent' }),
  }),
  Closed({ type: Type.Literal('error'), error: ErrorBody.properties.error }),
]);
export type TerminalServerMessage = Static<typeof TerminalServerMessage>;
