// Waiting for a server started inside a sandbox, through shedd's tunnel to its port.
import { setTimeout as sleep } from 'node:timers/promises';
import { ShedApiError, type Sandbox } from '@shed/sdk';

/** Resolves once something listens on `port` inside the sandbox (refused connections retried every 25 ms, for up to 10 s). */
export async function waitListening(sb: Sandbox, port: number): Promise<void> {
  for (let i = 0; i < 400; i++) {
    try {
      (await sb.ports.connect(port)).destroy();
      return;
    } catch (err) {
      if (!(err instanceof ShedApiError && err.details['errno'] === 'ECONNREFUSED')) throw err;
      await sleep(25);
    }
  }
  throw new Error(`nothing listens on ${port} in sandbox ${sb.id}`);
}
