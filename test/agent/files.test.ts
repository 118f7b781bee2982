// File operations through the real agent, checked against the host's view of the same files.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, lstat, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { AgentClient } from '@shed/protocol';
import { agentUnavailable, startAgent, type RunningAgent } from '../helpers/agent.js';
import { assertNoLeaks } from '../helpers/leaks.js';

const skip = await agentUnavailable();
const MiB = 1024 * 1024;
let agent: RunningAgent;
let c: AgentClient;
let dir = '';

/** `count` MiB of a deterministic pattern that differs in every MiB. */
async function* pattern(count: number, hash: ReturnType<typeof createHash>): AsyncIterable<Uint8Array> {
  for (let i = 0; i < count; i++) {
    const words = new Uint32Array(MiB / 4);
    for (let j = 0; j < words.length; j++) words[j] = (i * words.length + j) ^ 0x9e3779b9;
    const b = Buffer.from(words.buffer);
    hash.update(b);
    yield b;
  }
}

async function hostSha(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk);
  return h.digest('hex');
}

describe('files through the agent', { skip }, () => {
  before(async () => {
    agent = await startAgent();
    c = agent.client;
    dir = join(agent.dir, 'files');
    await mkdir(dir);
  });
  after(async () => {
    await agent?.stop();
    await assertNoLeaks();
  });

  it('round-trips 200 MiB with the same checksum on both sides', async () => {
    const path = join(dir, 'big');
    const sent = createHash('sha256');
    assert.equal(await c.writeFile(path, pattern(200, sent)), 200 * MiB);
    const digest = sent.digest('hex');
    assert.equal(await hostSha(path), digest);
    const got = createHash('sha256');
    let n = 0;
    for await (const chunk of c.read(path)) {
      got.update(chunk);
      n += chunk.byteLength;
    }
    assert.equal(n, 200 * MiB);
    assert.equal(got.digest('hex'), digest);
  });

  it('reads a range, appends, and refuses an exclusive create of an existing file', async () => {
    const path = join(dir, 'small');
    await c.writeFile(path, 'hello world');
    assert.equal((await c.readFile(path, { offset: 6, lengthBytes: 3 })).toString(), 'wor');
    await c.writeFile(path, '!', { append: true });
    assert.equal(await readFile(path, 'utf8'), 'hello world!');
    await c.writeFile(path, 'new');
    assert.equal(await readFile(path, 'utf8'), 'new');
    await assert.rejects(c.writeFile(path, 'x', { exclusive: true }), { errno: 'EEXIST', code: 'already_exists' });
    await c.writeFile(join(dir, 'mode'), 'x', { mode: 0o600 });
    assert.equal((await lstat(join(dir, 'mode'))).mode & 0o777, 0o600);
  });

  it('reports ENOENT, EISDIR and EACCES as codes', async () => {
    await assert.rejects(c.readFile(join(dir, 'missing')), { errno: 'ENOENT', code: 'not_found' });
    await assert.rejects(c.stat(join(dir, 'missing')), { errno: 'ENOENT', code: 'not_found' });
    await assert.rejects(c.readFile(dir), { errno: 'EISDIR', code: 'failed_precondition' });
    // uid 65534 may traverse to the files but not execute a 0600 one or enter a 0700 dir.
    await chmod(agent.dir, 0o755);
    await chmod(dir, 0o755);
    const secret = join(dir, 'secret.sh');
    await writeFile(secret, '#!/bin/sh\necho no\n', { mode: 0o600 });
    await assert.rejects(c.run([secret], { uid: 65534, gid: 65534 }), { errno: 'EACCES', code: 'failed_precondition' });
    const closed = join(dir, 'closed');
    await mkdir(closed, { mode: 0o700 });
    await assert.rejects(c.run(['true'], { uid: 65534, gid: 65534, cwd: closed }), { errno: 'EACCES' });
    const r = await c.run(['cat', secret], { uid: 65534, gid: 65534 });
    assert.notEqual(r.exitCode, 0);
  });

  it('mkdir with parents, and the errors without', async () => {
    const deep = join(dir, 'a/b/c');
    await c.mkdir(deep, { parents: true });
    await c.mkdir(deep, { parents: true });
    assert.ok((await lstat(deep)).isDirectory());
    await assert.rejects(c.mkdir(deep), { errno: 'EEXIST' });
    await assert.rejects(c.mkdir(join(dir, 'x/y')), { errno: 'ENOENT' });
    await c.mkdir(join(dir, 'm'), { mode: 0o700 });
    assert.equal((await lstat(join(dir, 'm'))).mode & 0o777, 0o700);
  });

  it('recursive remove deletes the tree but never follows a symlink out of it', async () => {
    const outside = join(dir, 'outside');
    await mkdir(outside);
    await writeFile(join(outside, 'keep'), 'precious');
    const tree = join(dir, 'tree');
    await mkdir(join(tree, 'sub/deeper'), { recursive: true });
    await writeFile(join(tree, 'sub/deeper/f'), 'x');
    await symlink(outside, join(tree, 'sub/link'));
    await symlink(join(outside, 'keep'), join(tree, 'filelink'));
    await assert.rejects(c.remove(tree), { errno: 'ENOTEMPTY' });
    await c.remove(tree, { recursive: true });
    await assert.rejects(lstat(tree));
    assert.equal(await readFile(join(outside, 'keep'), 'utf8'), 'precious');
    const link = join(dir, 'dirlink');
    await symlink(outside, link);
    await c.remove(link, { recursive: true });
    await assert.rejects(lstat(link));
    assert.equal(await readFile(join(outside, 'keep'), 'utf8'), 'precious');
    await assert.rejects(c.remove(join(dir, 'nothing')), { errno: 'ENOENT' });
  });

  it('rename, stat and list', async () => {
    const d = join(dir, 'ls');
    await mkdir(d);
    await writeFile(join(d, 'one'), '12345');
    await c.rename(join(d, 'one'), join(d, 'two'));
    await symlink('two', join(d, 'link'));
    await mkdir(join(d, 'sub'));
    const st = await c.stat(join(d, 'two'));
    const host = await lstat(join(d, 'two'));
    assert.deepEqual([st.type, st.sizeBytes, st.mode, st.uid, st.mtimeNs], ['file', 5, host.mode, 0, (await lstat(join(d, 'two'), { bigint: true })).mtimeNs]);
    const ln = await c.stat(join(d, 'link'));
    assert.deepEqual([ln.type, ln.target], ['symlink', 'two']);
    assert.equal((await c.stat(join(d, 'link'), { followSymlinks: true })).type, 'file');
    const entries = (await c.list(d)).map((e) => [e.name, e.type, e.target]).sort();
    assert.deepEqual(entries, [['link', 'symlink', 'two'], ['sub', 'directory', undefined], ['two', 'file', undefined]]);
    await assert.rejects(c.list(join(d, 'two')), { errno: 'ENOTDIR' });
    await assert.rejects(c.rename(join(d, 'nope'), join(d, 'x')), { errno: 'ENOENT' });
  });
});
