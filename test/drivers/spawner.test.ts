// shed-spawn and its client: exit codes, signals, output to a file, abort, bad arguments.
import assert from 'node:assert/strict';
import { access, mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Spawner } from '@shed/server';
import { leakCheckedTempDir, useLeakCheck } from '../helpers/leaks.js';

const HELPER = join(resolve(fileURLToPath(import.meta.url), '../../../..'), 'packages/server/native/out/shed-spawn');
useLeakCheck();

let dir = '';
let skip: string | undefined;
before(async () => {
  if (!(await access(HELPER).then(() => true, () => false))) skip = `${HELPER} is missing: make -C packages/server/native`;
  dir = await leakCheckedTempDir('shed-spawn-');
});
const it = (title: string, fn: () => Promise<void>): void => void test(title, async (ctx) => (skip !== undefined ? ctx.skip(skip) : fn()));

it('reports exit codes and appends output to the file', async () => {
  const s = new Spawner(HELPER);
  const out = join(dir, 'out.log');
  assert.deepEqual(await s.run(['sh', '-c', 'echo one; echo two >&2; exit 3'], out), { exitCode: 3, signal: null });
  assert.deepEqual(await s.run(['true'], out), { exitCode: 0, signal: null });
  assert.equal(await readFile(out, 'utf8'), 'one\ntwo\n');
});

it('runs programs concurrently and reports signals', async () => {
  const s = new Spawner(HELPER);
  const out = join(dir, 'par.log');
  // A barrier: each program waits until all 8 have started, which only concurrent runs can
  // reach (one after another, the first would wait out its 20 s and exit 1).
  const started = join(dir, 'started');
  await mkdir(started);
  const barrier = `touch ${started}/$$; for i in $(seq 400); do [ $(ls ${started} | wc -l) -ge 8 ] && exit 0; sleep 0.05; done; exit 1`;
  const rs = await Promise.all(Array.from({ length: 8 }, () => s.run(['sh', '-c', barrier], out)));
  assert.deepEqual(rs.map((r) => r.exitCode), Array(8).fill(0), 'not one after another');
  assert.deepEqual(await s.run(['sh', '-c', 'kill -TERM $$'], out), { exitCode: null, signal: 15 });
});

it('an abort kills the program', async () => {
  const s = new Spawner(HELPER);
  const ac = new AbortController();
  const p = s.run(['sleep', '30'], join(dir, 'abort.log'), ac.signal);
  setTimeout(() => ac.abort(), 50);
  assert.deepEqual(await p, { exitCode: null, signal: 9 });
});

it('a missing program exits 127 with the reason in the output file', async () => {
  const s = new Spawner(HELPER);
  const out = join(dir, 'missing.log');
  assert.deepEqual(await s.run(['/no/such/program'], out), { exitCode: 127, signal: null });
  assert.match(await readFile(out, 'utf8'), /cannot run \/no\/such\/program/);
  await assert.rejects(s.run(['echo', 'a\nb'], out), /NUL or newline/);
});
