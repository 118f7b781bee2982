import type { ServerResponse } from 'node:http';

/**
 * Aborted when the client goes away before the response finished, so long calls (create,
 * wait, streams) stop working for nobody. A response's 'close' fires on completion too;
 * only an unfinished one means the client left.
 */
export function abortOnClose(res: ServerResponse): AbortSignal {
  const ac = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) ac.abort(new DOMException('the client disconnected', 'AbortError'));
  });
  return ac.signal;
}
