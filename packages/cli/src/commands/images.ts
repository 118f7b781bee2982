import { createReadStream, statSync } from 'node:fs';
import { Readable } from 'node:stream';
import { connect, type GlobalOptions } from '../connect.js';
import { ago, bytes, printJson, table } from '../output.js';
import { Progress } from '../progress.js';

export async function imageLs(g: GlobalOptions): Promise<number> {
  const shed = await connect(g);
  try {
    const list = await shed.images.list();
    if (g.json === true) printJson(list);
    else process.stdout.write(table(['NAMES', 'DIGEST', 'SIZE', 'LAST USED'], list.map((i) => [i.names.join(',') || '<none>', i.digest.slice(0, 19), bytes(i.sizeBytes), ago(i.lastUsedAt)])));
    return 0;
  } finally {
    shed.close();
  }
}

export async function imagePull(ref: string, f: { name?: string }, g: GlobalOptions): Promise<number> {
  const shed = await connect(g);
  const progress = new Progress(`pulling ${ref}`, g.json !== true);
  try {
    const info = await shed.images.pull(ref, f.name === undefined ? {} : { name: f.name });
    progress.done(`pulled ${ref} ${info.digest.slice(0, 19)} (${bytes(info.sizeBytes)})`);
    if (g.json === true) printJson(info);
    return 0;
  } catch (err) {
    progress.done();
    throw err;
  } finally {
    shed.close();
  }
}

export async function imageImport(file: string, f: { name: string }, g: GlobalOptions): Promise<number> {
  const shed = await connect(g);
  const total = file === '-' ? undefined : statSync(file).size;
  const progress = new Progress(`importing ${file}`, g.json !== true, total);
  try {
    const source: Readable = file === '-' ? process.stdin : createReadStream(file);
    const counted = Readable.from((async function* () {
      for await (const chunk of source) {
        progress.advance((chunk as Buffer).byteLength); // file and stdin streams yield Buffers.
        yield chunk as Buffer;
      }
    })());
    const info = await shed.images.import(counted, { name: f.name });
    progress.done(`imported ${f.name} ${info.digest.slice(0, 19)} (${bytes(info.sizeBytes)})`);
    if (g.json === true) printJson(info);
    return 0;
  } catch (err) {
    progress.done();
    throw err;
  } finally {
    shed.close();
  }
}

export async function imageRm(refs: string[], f: { force?: boolean }, g: GlobalOptions): Promise<number> {
  const shed = await connect(g);
  try {
    for (const ref of refs) await shed.images.remove(ref, f.force === true ? { force: true } : {});
    if (g.json === true) printJson({ removed: refs });
    else process.stdout.write(refs.map((r) => `${r}\n`).join(''));
    return 0;
  } finally {
    shed.close();
  }
}

export async function imagePrune(f: { maxBytes?: string }, g: GlobalOptions): Promise<number> {
  const shed = await connect(g);
  try {
    const r = await shed.images.prune(f.maxBytes === undefined ? {} : { maxBytes: Number(f.maxBytes) });
    if (g.json === true) printJson(r);
    else process.stdout.write(`freed ${bytes(r.freedBytes)}\n`);
    return 0;
  } finally {
    shed.close();
  }
}
