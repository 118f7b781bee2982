import { connect, type GlobalOptions } from '../connect.js';
import { ago, bytes, printJson, table } from '../output.js';
import { UsageError } from '../output.js';

/**
 * `shed snapshot SANDBOX…` takes snapshots; `shed snapshot ls` and `shed snapshot rm ID…`
 * manage them. (A sandbox named `ls` or `rm` is snapshotted by its id.)
 */
export async function snapshotCommand(first: string, rest: string[], g: GlobalOptions, f: { memory?: boolean } = {}): Promise<number> {
  if (first === 'ls') return snapshotLs(rest, g);
  if (first === 'rm') return snapshotRm(rest, g);
  const shed = await connect(g);
  try {
    const taken = [];
    for (const ref of [first, ...rest]) {
      const snap = await (await shed.sandboxes.get(ref)).snapshot(f.memory === true ? { memory: true } : {});
      taken.push(snap);
      if (g.json !== true) process.stdout.write(`${snap.layerId}\t${bytes(snap.bytes)} (${snap.method}, frozen ${snap.timings['frozen'] ?? '?'} ms)\n`);
    }
    if (g.json === true) printJson(taken.length === 1 ? taken[0] : taken);
    return 0;
  } finally {
    shed.close();
  }
}

async function snapshotLs(rest: string[], g: GlobalOptions): Promise<number> {
  if (rest.length > 0) throw new UsageError(`shed snapshot ls takes no arguments; got ${rest.join(' ')}`);
  const shed = await connect(g);
  try {
    const list = await shed.snapshots.list();
    if (g.json === true) printJson(list);
    else {
      process.stdout.write(table(['SNAPSHOT', 'OF', 'PARENT', 'SIZE', 'FORKS', 'CREATED'], list.map((s) => [
        s.layerId, s.sandbox, s.parent ?? '-', bytes(s.bytes), String(s.forks.length), ago(s.createdAt),
      ])));
    }
    return 0;
  } finally {
    shed.close();
  }
}

async function snapshotRm(ids: string[], g: GlobalOptions): Promise<number> {
  if (ids.length === 0) throw new UsageError('shed snapshot rm needs at least one snapshot id (see shed snapshot ls)');
  const shed = await connect(g);
  try {
    for (const id of ids) await shed.snapshots.delete(id);
    if (g.json === true) printJson({ deleted: ids });
    return 0;
  } finally {
    shed.close();
  }
}

export async function forkCommand(snapshot: string, f: { count?: string; name?: string[]; network?: string }, g: GlobalOptions): Promise<number> {
  const count = f.count === undefined ? undefined : Number(f.count);
  if (count !== undefined && !Number.isInteger(count)) throw new UsageError(`--count must be a whole number; got '${f.count}'`);
  const shed = await connect(g);
  try {
    const made = await shed.sandboxes.fork(snapshot, {
      ...(count === undefined ? {} : { count }),
      ...(f.name === undefined ? {} : { names: f.name }),
      // The server's schema rejects any other mode by name; the cast only carries the string there.
      ...(f.network === undefined ? {} : { network: f.network as 'none' | 'nat' }),
    });
    if (g.json === true) printJson(made.map((s) => s.info));
    else for (const s of made) process.stdout.write(`${s.id}\n`);
    return 0;
  } finally {
    shed.close();
  }
}

export async function commitCommand(snapshot: string, name: string, g: GlobalOptions): Promise<number> {
  const shed = await connect(g);
  try {
    const image = await shed.snapshots.commit(snapshot, name);
    if (g.json === true) printJson(image);
    else process.stdout.write(`${image.digest}\t${image.names.join(',')}\t${bytes(image.sizeBytes)}\n`);
    return 0;
  } finally {
    shed.close();
  }
}
