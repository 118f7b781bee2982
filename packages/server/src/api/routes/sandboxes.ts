import {
  CreateSandboxRequest, Empty, ListSandboxesQuery, ListSandboxesResponse, ROUTES, SandboxInfo, SandboxParams, StopSandboxRequest,
} from '@shed/protocol';
import { abortOnClose } from '../abort.js';
import type { Api, ApiDeps } from '../app.js';
import { sandboxInfo } from '../mappers.js';

export function sandboxRoutes(app: Api, { sandboxes }: ApiDeps): void {
  const info = (ref: string): SandboxInfo => {
    const rec = sandboxes.get(ref);
    return sandboxInfo(rec, rec.state === 'running' ? sandboxes.lastExecTimings(rec.id) : undefined);
  };

  app.post(ROUTES.sandboxes, { schema: { body: CreateSandboxRequest, response: { 201: SandboxInfo } } }, async (req, reply) => {
    const rec = await sandboxes.create(req.body, { signal: abortOnClose(reply.raw) });
    return reply.status(201).send(sandboxInfo(rec));
  });

  app.get(ROUTES.sandboxes, { schema: { querystring: ListSandboxesQuery, response: { 200: ListSandboxesResponse } } }, async (req) => ({
    sandboxes: sandboxes.list(req.query.label ?? [], { all: req.query.all === true }).map((r) => sandboxInfo(r)),
  }));

  app.get(ROUTES.sandbox, { schema: { params: SandboxParams, response: { 200: SandboxInfo } } }, async (req) => info(req.params.sandbox));

  app.delete(ROUTES.sandbox, { schema: { params: SandboxParams, response: { 200: Empty } } }, async (req) => {
    await sandboxes.delete(req.params.sandbox);
    return {};
  });

  app.post(ROUTES.stop, { schema: { params: SandboxParams, body: StopSandboxRequest, response: { 200: SandboxInfo } } }, async (req) =>
    sandboxInfo(await sandboxes.stop(req.params.sandbox, req.body)),
  );

  app.post(ROUTES.start, { schema: { params: SandboxParams, body: Empty, response: { 200: SandboxInfo } } }, async (req) =>
    sandboxInfo(await sandboxes.start(req.params.sandbox)),
  );
}
