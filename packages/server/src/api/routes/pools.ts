import { Empty, ListPoolsResponse, PoolInfo, PoolParams, ROUTES, SetPoolRequest } from '@shed/protocol';
import type { Api, ApiDeps } from '../app.js';
import type { PoolStatus } from '../../core/pools/pool-service.js';

const iso = (ms: number): string => new Date(ms).toISOString();

function poolInfo(p: PoolStatus): PoolInfo {
  const { spec } = p;
  return {
    name: spec.name, origin: p.origin,
    image: 'image' in spec.source ? spec.source.image : null,
    snapshot: 'snapshot' in spec.source ? spec.source.snapshot : null,
    memoryMiB: spec.profile.memoryMiB, cpuMillis: spec.profile.cpuMillis, pidsMax: spec.profile.pidsMax, network: spec.profile.network,
    min: spec.min, targetFree: spec.targetFree, max: spec.max, memoryBudgetMiB: spec.memoryBudgetMiB,
    capacity: p.capacity, free: p.free, making: p.making, claims: p.claims, failures: p.failures,
    lastError: p.lastError === null ? null : { code: p.lastError.code, message: p.lastError.message, at: iso(p.lastError.at) },
    retryAt: p.retryAt === null ? null : iso(p.retryAt),
    createdAt: iso(p.createdAt), updatedAt: iso(p.updatedAt),
  };
}

export function poolRoutes(app: Api, { sandboxes }: ApiDeps): void {
  app.get(ROUTES.pools, { schema: { response: { 200: ListPoolsResponse } } }, async () => ({ pools: sandboxes.pools.list().map(poolInfo) }));

  app.get(ROUTES.pool, { schema: { params: PoolParams, response: { 200: PoolInfo } } }, async (req) => poolInfo(sandboxes.pools.get(req.params.name)));

  app.put(ROUTES.pool, { schema: { params: PoolParams, body: SetPoolRequest, response: { 200: PoolInfo } } }, async (req) =>
    poolInfo(sandboxes.pools.set(req.params.name, req.body)));

  app.delete(ROUTES.pool, { schema: { params: PoolParams, response: { 200: Empty } } }, async (req) => {
    await sandboxes.pools.remove(req.params.name);
    return {};
  });
}
