import { Type, type Static } from '@sinclair/typebox';
import { Closed, Env, Nullable, Timings } from './common.js';
import { LIMITS } from './limits.js';

const Argv = Type.Array(Type.String({ maxLength: LIMITS.argChars }), {
  minItems: 1, maxItems: LIMITS.argvMax, description: 'Program and arguments; a program without / is looked up in PATH',
});

const commandFields = {
  argv: Argv,
  env: Type.Optional(Env),
  cwd: Type.Optional(Type.String({ minLength: 1, maxLength: LIMITS.pathChars, description: "Absolute; defaults to the image's working directory" })),
  uid: Type.Optional(Type.Integer({ minimum: 0, maximum: 65_535, default: 0 })),
  gid: Type.Optional(Type.Integer({ minimum: 0, maximum: 65_535, default: 0 })),
  timeoutMs: Type.Optional(Type.Integer({ minimum: 0, maximum: LIMITS.timeoutMs.max, default: 0, description: 'SIGKILL after this long; 0 = never' })),
};

export const Encoding = Type.Union([Type.Literal('utf8'), Type.Literal('base64')], { default: 'utf8' });

export const ExecRequest = Closed(
  {
    ...commandFields,
    stdin: Type.Optional(Type.String({ description: 'Written to stdin, then EOF; in `encoding`' })),
    encoding: Type.Optional(Encoding),
    maxOutputBytes: Type.Optional(Type.Integer({
      minimum: 0, maximum: LIMITS.execOutputBytes.max, default: LIMITS.execOutputBytes.default,
      description: 'Past this much output the process is killed and the result marked truncated',
    })),
  },

);
export type ExecRequest = Static<typeof ExecRequest>;

export const ProcessExit = Closed(
  {
    exitCode: Nullable(Type.Integer()),
    signal: Nullable(Type.String({ description: 'e.g. SIGKILL, when a signal ended it' })),
    timedOut: Type.Boolean(),
  },

);
export type ProcessExit = Static<typeof ProcessExit>;

export const ExecResponse = Closed(
  {
    ...ProcessExit.properties,
    stdout: Type.String(),
    stderr: Type.String(),
    encoding: Encoding,
    truncated: Type.Boolean(),
    timings: Timings,
  },

);
export type ExecResponse = Static<typeof ExecResponse>;

export const SpawnRequest = Closed(
  { ...commandFields, stdin: Type.Optional(Type.Boolean({ default: false, description: 'Give the process a stdin pipe fed by the stdin endpoint' })) },

);
export type SpawnRequest = Static<typeof SpawnRequest>;

export const SpawnResponse = Closed({ procId: Type.Integer(), pid: Type.Integer() });
export type SpawnResponse = Static<typeof SpawnResponse>;

export const ProcessParams = Closed({ sandbox: Type.String({ minLength: 1, maxLength: 64 }), procId: Type.Integer({ minimum: 1, maximum: 4_294_967_295, description: "The agent's process id (a u32)" }) });

export const OutputQuery = Closed({
  offset: Type.Optional(Type.Integer({ minimum: 0, description: 'Resume from this output offset (replayed from the agent buffer)' })),
});

export const StdinQuery = Closed({
  eof: Type.Optional(Type.Boolean({ default: true, description: 'Close stdin after this body' })),
});

export const StdinResponse = Closed({ bytes: Type.Integer() });

export const KillRequest = Closed({
  signal: Type.Optional(Type.Union([Type.String({ pattern: '^SIG[A-Z0-9+-]+$' }), Type.Integer({ minimum: 1, maximum: 64 })], { default: 'SIGTERM' })),
});
export type KillRequest = Static<typeof KillRequest>;

export const WaitResponse = ProcessExit;

export const ProcessEntry = Closed({
  procId: Type.Integer({ description: "The agent's process id: use it to reattach, write stdin, signal or wait" }),
  pid: Type.Integer({ description: 'Its pid inside the sandbox' }),
  argv: Type.Array(Type.String()),
  state: Type.Union([Type.Literal('running'), Type.Literal('exited')]),
  outputBytes: Type.Integer({ minimum: 0, description: 'End of its output so far: a reattach from here reads only what comes next' }),
  exitCode: Nullable(Type.Integer()),
  signal: Nullable(Type.String({ description: 'e.g. SIGKILL, when a signal ended it' })),
  pty: Nullable(Type.Boolean({ description: 'On a terminal; null when this shedd did not start it and cannot tell' })),
});
export type ProcessEntry = Static<typeof ProcessEntry>;

export const ProcessListResponse = Closed({ processes: Type.Array(ProcessEntry) });
export type ProcessListResponse = Static<typeof ProcessListResponse>;
