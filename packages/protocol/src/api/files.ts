import { Type, type Static } from '@sinclair/typebox';
import { Closed, Time } from './common.js';
import { LIMITS } from './limits.js';

/** An absolute path in the sandbox. `..` segments and relative paths are refused. */
export const SandboxPath = Type.String({ minLength: 1, maxLength: LIMITS.pathChars, pattern: '^/', description: 'Absolute path in the sandbox' });

export const FILE_KINDS = ['file', 'directory', 'symlink', 'char-device', 'block-device', 'fifo', 'socket'] as const;
export const FileKind = Type.Union(FILE_KINDS.map((t) => Type.Literal(t)));
export type FileKind = Static<typeof FileKind>;

export const PathQuery = Closed({ path: SandboxPath });

export const ReadFileQuery = Closed({ path: SandboxPath });

export const WriteFileQuery = Closed({
  path: SandboxPath,
  mode: Type.Optional(Type.Integer({ minimum: 0, maximum: 0o7777, default: 0o644, description: 'Permission bits of a created file' })),
  append: Type.Optional(Type.Boolean({ default: false })),
});
export type WriteFileQuery = Static<typeof WriteFileQuery>;

export const WriteFileResponse = Closed({ sizeBytes: Type.Integer() });
export type WriteFileResponse = Static<typeof WriteFileResponse>;

export const StatQuery = Closed({
  path: SandboxPath,
  followSymlinks: Type.Optional(Type.Boolean({ default: false })),
});

export const FileStatResponse = Closed(
  {
    path: Type.String(),
    type: FileKind,
    mode: Type.Integer({ description: 'Permission bits' }),
    sizeBytes: Type.Integer(),
    uid: Type.Integer(),
    gid: Type.Integer(),
    mtime: Time,
    target: Type.Optional(Type.String({ description: "A symlink's target" })),
  },

);
export type FileStatResponse = Static<typeof FileStatResponse>;

export const DirListEntry = Closed({
  name: Type.String(),
  type: FileKind,
  mode: Type.Integer(),
  sizeBytes: Type.Integer(),
  mtime: Time,
  target: Type.Optional(Type.String()),
});
export type DirListEntry = Static<typeof DirListEntry>;

export const ListDirResponse = Closed({ entries: Type.Array(DirListEntry) });
export type ListDirResponse = Static<typeof ListDirResponse>;

export const MkdirRequest = Closed({
  path: SandboxPath,
  parents: Type.Optional(Type.Boolean({ default: false, description: 'Create missing parents; an existing directory is fine' })),
  mode: Type.Optional(Type.Integer({ minimum: 0, maximum: 0o7777, default: 0o755 })),
});
export type MkdirRequest = Static<typeof MkdirRequest>;

export const RemoveRequest = Closed({
  path: SandboxPath,
  recursive: Type.Optional(Type.Boolean({ default: false, description: 'Remove a directory and its contents; symlinks are never followed' })),
});
export type RemoveRequest = Static<typeof RemoveRequest>;

export const RenameRequest = Closed({ from: SandboxPath, to: SandboxPath });
export type RenameRequest = Static<typeof RenameRequest>;
