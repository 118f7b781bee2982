// The worker thread that runs the two-pass capture's tree walks (two-pass.ts) for walk.ts, off
// the daemon's event loop. It keeps pass 1's record itself, so the record (an entry per file
// of the upper) never crosses threads in the capture; only the catch-up's result comes back.
// One request at a time: walk.ts sends the next after the answer to the last. A worker is kept
// between captures (walk.ts), holding no record while idle.
import { parentPort } from 'node:worker_threads';
import { ShedError } from '../../../core/errors.js';
import { catchUp, recordTree, type CatchUp, type TreeRecord } from './two-pass.js';
import type { WalkReply, WalkRequest } from './walk.js';

let record: TreeRecord | null = null;

function handle(req: WalkRequest): boolean | CatchUp {
  switch (req.op) {
    case 'record':
      record = recordTree(req.src);
      return record !== null;
    case 'load':
      record = req.record;
      return true;
    case 'forget':
      record = null;
      return true;
    case 'catchUp':
      if (record === null) throw new ShedError('internal', 'the tree walk was asked to catch up before recording the tree');
      // Each thread's performance.now() counts from its own start: the deadline comes as epoch ms.
      return catchUp(req.src, req.dest, record, { deadline: req.deadlineEpochMs - performance.timeOrigin });
  }
}

function reply(req: WalkRequest): WalkReply {
  try {
    return { ok: true, value: handle(req) };
  } catch (err) {
    const code = err instanceof ShedError ? err.code : undefined;
    const errno = err instanceof Error && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
    return { ok: false, message: err instanceof Error ? err.message : String(err), ...(code ? { code } : {}), ...(errno && !code ? { errno } : {}) };
  }
}

// walk.ts starts this file as a worker; parentPort is null only if something imported it.
parentPort?.on('message', (req: WalkRequest) => parentPort?.postMessage(reply(req)));
