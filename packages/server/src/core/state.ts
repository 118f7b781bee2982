import { ShedError } from './errors.js';

/**
 * A sandbox's life. Every change of state goes through `transition`, which names the
 * forbidden ones; nothing else assigns a state.
 *
 *   creating ─► running ◄─► paused
 *      │          │  ▲
 *      │          ▼  │
 *      │        stopping ─► stopped ─► (start) running
 *      ▼          any ─► deleting ─► deleted
 *    failed ─► deleting
 */
export const SANDBOX_STATES = ['creating', 'running', 'paused', 'stopping', 'stopped', 'failed', 'deleting', 'deleted'] as const;
export type SandboxState = (typeof SANDBOX_STATES)[number];

export type SandboxEvent = 'created' | 'create_failed' | 'pause' | 'resume' | 'stop' | 'stopped' | 'start' | 'delete' | 'deleted' | 'died';

const TRANSITIONS: Record<SandboxEvent, Partial<Record<SandboxState, SandboxState>>> = {
  created: { creating: 'running' },
  create_failed: { creating: 'failed' },
  pause: { running: 'paused' },
  resume: { paused: 'running' },
  stop: { running: 'stopping', paused: 'stopping' },
  stopped: { stopping: 'stopped' },
  start: { stopped: 'creating', failed: 'creating' },
  delete: { creating: 'deleting', running: 'deleting', paused: 'deleting', stopping: 'deleting', stopped: 'deleting', failed: 'deleting', deleting: 'deleting' },
  deleted: { deleting: 'deleted' },
  // The processes vanished behind our back (host reboot, OOM of the agent, an outside kill).
  died: { creating: 'stopped', running: 'stopped', paused: 'stopped', stopping: 'stopped' },
};

/**
 * Thrown for a transition the state machine does not allow: code failed_precondition,
 * details {state, event}, and a message saying what to do instead.
 */
export class IllegalTransition extends ShedError {
  constructor(readonly from: SandboxState, readonly event: SandboxEvent) {
    super('failed_precondition', `cannot ${EVENT_VERBS[event]} a sandbox that is ${from}; ${remedy(from, event)}`, {
      details: { state: from, event },
    });
    this.name = 'IllegalTransition';
  }
}

const EVENT_VERBS: Record<SandboxEvent, string> = {
  created: 'finish creating', create_failed: 'fail the create of', pause: 'pause', resume: 'resume', stop: 'stop',
  stopped: 'finish stopping', start: 'start', delete: 'delete', deleted: 'finish deleting', died: 'mark as dead',
};

/** What to do instead, for every (state, event) the table above leaves out. */
function remedy(from: SandboxState, event: SandboxEvent): string {
  if (event === 'start' && (from === 'running' || from === 'paused')) return `it is already ${from}`;
  if (event === 'stop' && from === 'stopped') return 'it is already stopped';
  if (event === 'pause' && from === 'paused') return 'it is already paused';
  if (event === 'resume' && from === 'running') return 'it is already running';
  if (event === 'resume' && (from === 'stopped' || from === 'failed')) return "start it with 'shed start'";
  return STATE_REMEDIES[from];
}

const STATE_REMEDIES: Record<SandboxState, string> = {
  creating: 'wait for its create or start to finish',
  running: 'stop it first',
  paused: 'resume it first',
  stopping: 'wait for the stop to finish',
  stopped: "start it first with 'shed start'",
  failed: "start it again with 'shed start', or delete it with 'shed rm'",
  deleting: "it is being deleted; 'shed rm' again retries a delete that failed",
  deleted: 'it no longer exists',
};

export function transition(from: SandboxState, event: SandboxEvent): SandboxState {
  const to = TRANSITIONS[event][from];
  if (to === undefined) throw new IllegalTransition(from, event);
  return to;
}

export function canTransition(from: SandboxState, event: SandboxEvent): boolean {
  return TRANSITIONS[event][from] !== undefined;
}
