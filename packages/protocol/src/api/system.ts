import { Type, type Static } from '@sinclair/typebox';
import { Closed } from './common.js';

export const HealthResponse = Closed(
  {
    status: Type.Literal('ok'),
    version: Type.String(),
    pid: Type.Integer(),
    uptimeMs: Type.Integer(),
    driver: Closed({ name: Type.String(), usable: Type.Boolean(), notes: Type.Array(Type.String()), problems: Type.Array(Type.String()) }),
  },

);
export type HealthResponse = Static<typeof HealthResponse>;
