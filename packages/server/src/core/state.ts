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

/** Thrown for a transition the state machine does not allow; code failed_precondition. */
export class IllegalTransition extends ShedError {
  constructor(readonly from: SandboxState, readonly event: SandboxEvent) {
    super('failed_precondition', `cannot ${event.replace('_', ' ')} a sandbox that is ${from}${hint(from, event)}`, {
      details: { state: from, event },
    });
    this.name = 'IllegalTransition';
  }
}

function hint(from: SandboxState, event: SandboxEvent): string {
  if (from === 'stopped' && (event === 'pause' || event === 'stop')) return "; start it first with 'shed start'";
  if (from === 'paused' && event === 'pause') return '; it is already paused';
  if (from === 'running' && event === 'start') return '; it is already running';
  return '';
}

export function transition(from: SandboxState, event: SandboxEvent): SandboxState {
  const to = TRANSITIONS[event][from];
  if (to === undefined) throw new IllegalTransition(from, event);
  return to;
}

export function canTransition(from: SandboxState, event: SandboxEvent): boolean {
  return TRANSITIONS[event][from] !== undefined;
}
