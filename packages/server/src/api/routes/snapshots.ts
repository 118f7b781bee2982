import { PassThrough } from 'node:stream';
import {
  CommitRequest, ImageInfo, DiffQuery, DiffResponse, Empty, RollbackRequest, SandboxInfo, ForkRequest, ForkResponse, ListSnapshotsResponse, ROUTES, SandboxParams, SnapshotParams, SnapshotRequest, SnapshotResponse,
  type SnapshotInfo as SnapshotInfoBody,
} from '@shed/protocol';
import { abortOnClose } from '../abort.js';
import type { Api, ApiDeps } from '../app.js';
import { imageInfo, sandboxInfo } from '../mappers.js';
import type { SnapshotInfo } from '../../core/snapshots.js';

const iso = (ms: number): string => new Date(ms).toISOString();

function snapshotInfo(s: SnapshotInfo): SnapshotInfoBody {
  return { ...s, forks: [...s.forks], createdAt: iso(s.createdAt) };
}

export function snapshotRoutes(app: Api, { sandboxes }: ApiDeps): void {
  app.post(ROUTES.snapshotSandbox, { schema: { params: SandboxParams, body: SnapshotRequest, response: { 201: SnapshotResponse } } }, async (req, reply) => {
    const shot = await sandboxes.layers.snapshot(req.params.sandbox, { signal: abortOnClose(reply.raw), memory: req.body.memory === true });
    return reply.status(201).send({ ...snapshotInfo(shot), timings: shot.timings });
  });

  app.get(ROUTES.snapshots, { schema: { response: { 200: ListSnapshotsResponse } } }, async () => ({
    snapshots: sandboxes.layers.snapshots().map(snapshotInfo),
  }));

  app.delete(ROUTES.snapshot, { schema: { params: SnapshotParams, response: { 200: Empty } } }, async (req) => {
    await sandboxes.layers.deleteSnapshot(req.params.id);
    return {};
  });

  app.post(ROUTES.commit, { schema: { params: SnapshotParams, body: CommitRequest, response: { 201: ImageInfo } } }, async (req, reply) => {
    const image = await sandboxes.layers.commit(req.params.id, req.body.name, { signal: abortOnClose(reply.raw) });
    return reply.status(201).send(imageInfo(image));
  });

  app.post(ROUTES.fork, { schema: { params: SnapshotParams, body: ForkRequest, response: { 201: ForkResponse } } }, async (req, reply) => {
    const made = await sandboxes.layers.fork(req.params.id, {
      ...(req.body.count === undefined ? {} : { count: req.body.count }),
      ...(req.body.names === undefined ? {} : { names: req.body.names }),
      ...(req.body.network === undefined ? {} : { network: req.body.network }),
      ...(req.body.egress === undefined ? {} : { egress: req.body.egress }),
    });
    return reply.status(201).send({ sandboxes: made.map((r) => sandboxInfo(r)) });
  });
  // format=tar: the capture happens before the reply starts (its errors are ordinary error
  // replies); a failure while streaming can only cut the stream, which the client sees as a
  // truncated tar.
  app.get(ROUTES.diff, { schema: { params: SandboxParams, querystring: DiffQuery, response: { 200: DiffResponse } } }, async (req, reply) => {
    const signal = abortOnClose(reply.raw);
    if (req.query.format !== 'tar') return sandboxes.layers.diff(req.params.sandbox, { signal });
    const write = await sandboxes.layers.exportChanges(req.params.sandbox, { signal });
    const body = new PassThrough();
    write(body, { signal }).catch((err: unknown) => {
      req.log.warn({ err, sandbox: req.params.sandbox }, 'the changes tar was cut short');
      body.destroy(err instanceof Error ? err : undefined);
    });
    // The 200 schema describes the JSON form; fastify sends a stream as is, unserialized.
    return reply.type('application/x-tar').send(body as unknown as DiffResponse);
  });

  app.post(ROUTES.rollback, { schema: { params: SandboxParams, body: RollbackRequest, response: { 200: SandboxInfo } } }, async (req) =>
    sandboxInfo(await sandboxes.layers.rollback(req.params.sandbox, req.body.snapshot)));
}
