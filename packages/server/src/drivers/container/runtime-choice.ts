// Which OCI runtime to use: the first candidate that can create a container here. crun 1.8
// refuses hybrid cgroups while cgroup2 holds a controller; that refusal triggers the hybrid
// fix (see hybrid-fix.ts) and one retry before falling back to the next candidate.
import type { RuntimeName } from './runtime.js';

export const HYBRID_REFUSAL = /hybrid mode not supported/;

export interface ChoiceDeps {
  /** The runtime's binary, or null when it is not installed. */
  find(name: RuntimeName): Promise<string | null>;
  /** null when a trial container could be created, else what the runtime said. */
  trial(path: string): Promise<string | null>;
  /** Applies the hybrid-cgroup fix; true when something changed and a retry makes sense. */
  fixHybrid(): Promise<boolean>;
}

export interface Choice {
  readonly runtime: { readonly name: RuntimeName; readonly path: string } | null;
  readonly notes: string[];
  readonly problems: string[];
}

/**
 * Tries `candidates` in order. With `auto`, a missing or failing runtime is a note (the next
 * one may work); with an explicit choice it is a problem that makes the driver unusable.
 */
export async function chooseRuntime(candidates: readonly RuntimeName[], auto: boolean, deps: ChoiceDeps): Promise<Choice> {
  const notes: string[] = [];
  const problems: string[] = [];
  const report = (msg: string): number => (auto ? notes : problems).push(msg);
  for (const name of candidates) {
    const path = await deps.find(name);
    if (path === null) {
      report(`${name}: not installed (install the '${name}' package)`);
      continue;
    }
    let failure = await deps.trial(path);
    if (failure !== null && HYBRID_REFUSAL.test(failure) && (await deps.fixHybrid())) failure = await deps.trial(path);
    if (failure === null) {
      notes.push(`runtime: ${name} (${path})`);
      return { runtime: { name, path }, notes, problems };
    }
    report(`${name} cannot start a container here: ${failure}`);
  }
  if (problems.length === 0) problems.push('no OCI runtime works on this host: install crun or runc');
  return { runtime: null, notes, problems };
}
