// Fault injection for the crash tests: named points in create/delete/stop where a test can
// make shedd die (SIGKILL itself, the crash `kill -9 shedd` stands for) or fail, to prove that
// reconciliation recovers from a daemon cut off at exactly that step.
//
// Armed only from the environment shedd starts with, and only when both are set:
//   SHED_ALLOW_FAULTS=1
//   SHED_FAULTS=create.after-driver=kill,delete.after-destroy=throw
// SHED_FAULTS alone is ignored with a warning, so a stray variable cannot crash a daemon.
// State is module-wide on purpose: the points sit deep in core and a driver, and threading a
// test-only object through every constructor would put it on every production path.
import { ShedError, invalidArgument } from './errors.js';

export const FAULT_POINTS = [
  /** Create: the intent row is written, nothing else is done. */
  'create.after-intent',
  /** Create: the runtime started, its handles are not saved yet. */
  'create.after-runtime',
  /** Create: the runtime started and its handles are saved; the sandbox row is not written. */
  'create.after-driver',
  /** Delete: the intent row is written and the row says 'deleting'; nothing is torn down. */
  'delete.after-intent',
  /** Delete: the driver destroyed everything; the directories and the row remain. */
  'delete.after-destroy',
  /** Stop: the row says 'stopping'; the driver has not been called. */
  'stop.after-intent',
  /** Teardown (stop or delete) half way: the sandbox's init is killed, runtime state, cgroups and mounts remain. */
  'teardown.after-kill',
  /** Stop: the driver stopped the sandbox; the row still says 'stopping'. */
  'stop.after-driver',
  /** Create with network 'nat': the netns, veth, lease and rules are all made; the create has not seen it yet. */
  'net.after-attach',
  /** Rollback: stopped, its upper set aside; the row still names the old lowers. */
  'rollback.after-aside',
  /** Snapshot: the running sandbox is frozen; nothing is copied yet. */
  'snapshot.while-frozen',
  /** Snapshot: the layer directory is written and the sandbox thawed; no layer row yet. */
  'snapshot.after-copy',
  /** Fork: one of its sandboxes is made (row and all); the others may still be creating. */
  'fork.after-one',
  /** Commit: the snapshot's layer tars are written under layers/.commit-…; no image yet. */
  'commit.after-export',
] as const;
export type FaultPoint = (typeof FAULT_POINTS)[number];

/** kill: SIGKILL shedd itself; throw: fail the operation with an internal error. */
export type FaultAction = 'kill' | 'throw';

const armed = new Map<FaultPoint, FaultAction>();

const isPoint = (s: string): s is FaultPoint => (FAULT_POINTS as readonly string[]).includes(s);

/** Parses `point=action,…`; an unknown point or action is an error (a typo must not arm nothing silently). */
export function parseFaults(spec: string): Map<FaultPoint, FaultAction> {
  const out = new Map<FaultPoint, FaultAction>();
  for (const item of spec.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const [point = '', action = 'kill'] = item.split('=');
    if (!isPoint(point)) throw invalidArgument(`SHED_FAULTS: unknown fault point '${point}'; known: ${FAULT_POINTS.join(', ')}`);
    if (action !== 'kill' && action !== 'throw') throw invalidArgument(`SHED_FAULTS: unknown action '${action}' for ${point}; use kill or throw`);
    out.set(point, action);
  }
  return out;
}

/**
 * Arms the points named in SHED_FAULTS when SHED_ALLOW_FAULTS=1. Returns what was armed, or
 * a warning to log when SHED_FAULTS was set without the permission variable.
 */
export function armFaultsFromEnv(env: NodeJS.ProcessEnv): { armed: string[]; warning?: string } {
  armed.clear();
  const spec = env['SHED_FAULTS'];
  if (spec === undefined || spec === '') return { armed: [] };
  if (env['SHED_ALLOW_FAULTS'] !== '1') {
    return { armed: [], warning: 'SHED_FAULTS is set but ignored: fault injection needs SHED_ALLOW_FAULTS=1 too (tests only)' };
  }
  for (const [point, action] of parseFaults(spec)) armed.set(point, action);
  return { armed: [...armed].map(([p, a]) => `${p}=${a}`) };
}

/** A fault point: does nothing unless a test armed it. */
export function faultPoint(point: FaultPoint): void {
  const action = armed.get(point);
  if (action === undefined) return;
  if (action === 'kill') process.kill(process.pid, 'SIGKILL');
  throw new ShedError('internal', `injected fault at ${point}`, { details: { faultPoint: point } });
}
