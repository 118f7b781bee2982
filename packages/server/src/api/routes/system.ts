import { DoctorResponse, HealthResponse, PruneSystemRequest, PruneSystemResponse, ROUTES } from '@shed/protocol';
import type { Api, ApiDeps } from '../app.js';
import { pruneResult } from '../mappers.js';

export function systemRoutes(app: Api, deps: ApiDeps): void {
  app.get(ROUTES.health, { schema: { response: { 200: HealthResponse } } }, async () => deps.health());
  app.get(ROUTES.doctor, { schema: { response: { 200: DoctorResponse } } }, async () => deps.doctor());
  app.get(ROUTES.openapi, { schema: { hide: true } }, async () => app.swagger());
  app.post(ROUTES.systemPrune, { schema: { body: PruneSystemRequest, response: { 200: PruneSystemResponse } } }, async (req) => {
    const r = await deps.sandboxes.prune(req.body);
    return { swept: r.swept, layers: { removed: [...r.layers.removed], freedBytes: r.layers.freedBytes }, images: r.images === null ? null : pruneResult(r.images) };
  });
}
