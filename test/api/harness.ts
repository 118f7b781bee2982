// Serves the real API (core, store, fastify on a unix socket) with the agent test driver,
// in this process, on temp directories that are removed afterwards.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve, type Running } from '@shed/server';
import { openDb, type Db } from '@shed/server';
import { sqlitePersistence } from '@shed/server';
import { AgentProcessDriver } from '../helpers/agent-driver.js';
import { fakeImages } from '../helpers/fake-images.js';

export interface Harness {
  readonly socketPath: string;
  readonly driver: AgentProcessDriver;
  readonly running: Running;
  readonly db: Db;
  close(): Promise<void>;
}

export async function startHarness(): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'shed-api-test-'));
  const db = openDb({ path: join(dir, 'shed.db') });
  const driver = new AgentProcessDriver();
  const images = fakeImages(db);
  const socketPath = join(dir, 'run', 'shed.sock');
  const running = await serve(
    { driver, images, store: sqlitePersistence(db), idMap: { hostId: 100000, size: 65536 } },
    { dataDir: join(dir, 'data'), runDir: join(dir, 'run'), socketPath, log: false },
  );
  return {
    socketPath, driver, running, db,
    close: async () => {
      for (const s of running.sandboxes.list()) await running.sandboxes.delete(s.id);
      await running.close();
      db.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
