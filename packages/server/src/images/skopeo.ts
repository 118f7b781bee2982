import { opendir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ShedError } from '../core/errors.js';
import type { ProgressFn } from '../core/images.js';
import { isLoopbackRegistry, registryHost } from './refs.js';
import { runTool } from './run-tool.js';

export interface SkopeoCopyOptions {
  readonly ref: string;
  /** An OCI layout directory to write (created by skopeo). */
  readonly dest: string;
  readonly tag: string;
  readonly insecure?: boolean;
  /** @default 'skopeo' */
  readonly skopeoPath?: string;
  readonly onProgress?: ProgressFn;
  readonly signal?: AbortSignal;
}

/**
 * Copies `docker://ref` into an OCI layout with skopeo, the registry client (auth, mirrors,
 * retries, manifest lists) shed does not rewrite. Progress is the bytes landed in the layout
 * so far, sampled while skopeo runs.
 */
export async function skopeoCopy(o: SkopeoCopyOptions): Promise<void> {
  const insecure = o.insecure ?? isLoopbackRegistry(registryHost(o.ref));
  const args = ['copy', '--retry-times', '2', ...(insecure ? ['--src-tls-verify=false'] : []), `docker://${o.ref}`, `oci:${o.dest}:${o.tag}`];
  const timer = o.onProgress
    ? setInterval(() => {
        void treeBytes(o.dest).then((doneBytes) => o.onProgress?.({ phase: 'fetch', doneBytes, detail: o.ref }));
      }, 200)
    : undefined;
  try {
    const r = await runTool(o.skopeoPath ?? 'skopeo', args, { pkg: 'skopeo', ...(o.signal ? { signal: o.signal } : {}) });
    if (r.code !== 0) throw pullError(o.ref, r.output);
    o.onProgress?.({ phase: 'fetch', doneBytes: await treeBytes(o.dest), detail: o.ref });
  } finally {
    if (timer) clearInterval(timer);
  }
}

function pullError(ref: string, output: string): ShedError {
  const last = output.trim().split('\n').slice(-3).join(' | ');
  if (/manifest unknown|name unknown|not found|404/i.test(output)) {
    return new ShedError('not_found', `the registry has no image '${ref}'; check the name and tag (${last})`, { details: { ref } });
  }
  if (/unauthorized|authentication required|denied/i.test(output)) {
    return new ShedError('failed_precondition', `the registry refused '${ref}': log in with 'skopeo login' first (${last})`, { details: { ref } });
  }
  return new ShedError('unavailable', `pulling '${ref}' failed; is the registry reachable? (${last})`, { details: { ref } });
}

/** Apparent bytes of the files under `dir` (a small OCI layout). */
async function treeBytes(dir: string): Promise<number> {
  let total = 0;
  const d = await opendir(dir).catch(() => undefined);
  if (d === undefined) return 0;
  for await (const ent of d) {
    const p = join(dir, ent.name);
    if (ent.isDirectory()) total += await treeBytes(p);
    else total += (await stat(p).catch(() => undefined))?.size ?? 0;
  }
  return total;
}
