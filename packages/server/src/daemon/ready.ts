import { closeSync, writeSync } from 'node:fs';

/**
 * Tells the parent that started shedd (the CLI's on-demand start, a test) that the API
 * serves: one line on an inherited fd, then the fd is closed. The parent waits on the pipe,
 * so there is no polling; EOF without the line means shedd failed (its log says why).
 */
export function signalReady(fd: number | undefined): void {
  if (fd === undefined) return;
  try {
    writeSync(fd, 'READY\n');
    closeSync(fd);
  } catch {
    // The parent went away; nobody is waiting for the line.
  }
}
