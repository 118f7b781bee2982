import { DoctorResponse, HealthResponse, ROUTES } from '@shed/protocol';
import type { Api, ApiDeps } from '../app.js';

export function systemRoutes(app: Api, deps: ApiDeps): void {
  app.get(ROUTES.health, { schema: { response: { 200: HealthResponse } } }, async () => deps.health());
  app.get(ROUTES.doctor, { schema: { response: { 200: DoctorResponse } } }, async () => deps.doctor());
  app.get(ROUTES.openapi, { schema: { hide: true } }, async () => app.swagger());
}
