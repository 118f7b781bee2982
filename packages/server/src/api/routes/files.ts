import {
  Empty, FileStatResponse, ListDirResponse, MkdirRequest, PathQuery, ROUTES, ReadFileQuery, RemoveRequest, RenameRequest, SandboxParams,
  StatQuery, WriteFileQuery, WriteFileResponse,
} from '@shed/protocol';
import { Readable } from 'node:stream';
import { abortOnClose } from '../abort.js';
import type { Api, ApiDeps } from '../app.js';
import { dirEntry, fileStat } from '../mappers.js';
import { asByteStream } from './streams.js';

export function fileRoutes(app: Api, { files }: ApiDeps): void {
  // Contents are raw bytes both ways, streamed: no size limit and no base64 inflation. The
  // first chunk is read before the status goes out, so a missing file is a JSON 404.
  app.get(ROUTES.fileContent, { schema: { params: SandboxParams, querystring: ReadFileQuery } }, async (req, reply) => {
    const chunks = await files.read(req.params.sandbox, req.query.path, { signal: abortOnClose(reply.raw) });
    return reply.type('application/octet-stream').send(Readable.from(chunks, { objectMode: false }));
  });

  app.put(ROUTES.fileContent, { schema: { params: SandboxParams, querystring: WriteFileQuery, response: { 200: WriteFileResponse } } }, async (req, reply) => {
    const { path, ...opts } = req.query;
    const sizeBytes = await files.write(req.params.sandbox, path, asByteStream(req.body), { ...opts, signal: abortOnClose(reply.raw) });
    return { sizeBytes };
  });

  app.get(ROUTES.fileStat, { schema: { params: SandboxParams, querystring: StatQuery, response: { 200: FileStatResponse } } }, async (req) => {
    const { path, followSymlinks } = req.query;
    return fileStat(path, await files.stat(req.params.sandbox, path, { followSymlinks }));
  });

  app.get(ROUTES.fileList, { schema: { params: SandboxParams, querystring: PathQuery, response: { 200: ListDirResponse } } }, async (req) => ({
    entries: (await files.list(req.params.sandbox, req.query.path)).map(dirEntry),
  }));

  app.post(ROUTES.fileMkdir, { schema: { params: SandboxParams, body: MkdirRequest, response: { 200: Empty } } }, async (req) => {
    const { path, ...opts } = req.body;
    await files.mkdir(req.params.sandbox, path, opts);
    return {};
  });

  app.post(ROUTES.fileRemove, { schema: { params: SandboxParams, body: RemoveRequest, response: { 200: Empty } } }, async (req) => {
    const { path, ...opts } = req.body;
    await files.remove(req.params.sandbox, path, opts);
    return {};
  });

  app.post(ROUTES.fileRename, { schema: { params: SandboxParams, body: RenameRequest, response: { 200: Empty } } }, async (req) => {
    await files.rename(req.params.sandbox, req.body.from, req.body.to);
    return {};
  });
}
