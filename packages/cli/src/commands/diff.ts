// `shed diff` and `shed rollback`: a sandbox's changes since its image or snapshot, and undoing them.

import { pipeline } from 'node:stream/promises';
import { connect, type GlobalOptions } from '../connect.js';
import { printJson } from '../output.js';

/** `shed diff ID` prints `A|M|D path` lines (or JSON); `--tar` streams the changes tar to stdout. */
export async function diffCommand(ref: string, f: { tar?: boolean; json?: boolean }, g: GlobalOptions): Promise<number> {
  const shed = await connect(g);
  try {
    const sb = await shed.sandboxes.get(ref);
    if (f.tar === true) {
      await pipeline(await sb.exportChanges(), process.stdout);
      return 0;
    }
    const d = await sb.diff();
    if (f.json === true || g.json === true) printJson(d);
    else {
      const lines = [...d.added.map((p) => ['A', p]), ...d.modified.map((p) => ['M', p]), ...d.deleted.map((p) => ['D', p])]
        .sort((a, b) => ((a[1] ?? '') < (b[1] ?? '') ? -1 : 1)).map(([k, p]) => `${k} ${p}\n`);
      process.stdout.write(lines.join(''));
    }
    return 0;
  } finally {
    shed.close();
  }
}

/** `shed rollback ID SNAP`: prints the sandbox's id (its info with --json) once it runs again. */
export async function rollbackCommand(ref: string, snapshot: string, g: GlobalOptions): Promise<number> {
  const shed = await connect(g);
  try {
    const sb = await shed.sandboxes.get(ref);
    await sb.rollback(snapshot);
    if (g.json === true) printJson(sb.info);
    else process.stdout.write(`${sb.id}\n`);
    return 0;
  } finally {
    shed.close();
  }
}
