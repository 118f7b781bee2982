// Bad input against a real shedd, in raw HTTP over its unix socket (what the SDK would never
// send): malformed, oversized and wrongly typed bodies, unknown fields and ids, hostile file
// paths and symlinks made inside the sandbox, transitions the state machine forbids, and a
// flood of 1,000 requests at once. Each gets its stable code and status; the files API acts
// inside the sandbox's root only; shedd stays up and nothing leaks.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { LIMITS } from '@shed/protocol';
import { ROUTES, routePath } from '@shed/protocol/client';
import { openDb } from '@shed/server';
import { type Sandbox } from '@shed/sdk';
import { useLeakCheck } from '../helpers/leaks.js';
import { errorCode, raw, type RawRequest, type RawResponse } from '../helpers/raw-http.js';
import { e2eUnavailable, useShedd } from '../e2e/shedd.js';

const skip = await e2eUnavailable();
if (skip !== undefined) console.log(`# bad-input tests skipped: ${skip}`);
useLeakCheck();

const STATUS = { invalid_argument: 400, not_found: 404, already_exists: 409, failed_precondition: 412 } as const;
type Code = keyof typeof STATUS;

describe('api: bad input against a real shedd', { skip }, () => {
  const fx = useShedd('shed-bad-input-', {
    beforeCleanup: async () => {
      const health = await send({ method: 'GET', path: ROUTES.health });
      assert.equal(health.status, 200, 'shedd is still up after everything');
    },
  });
  let sb: Sandbox;
  let parked: Sandbox;

  const send = (r: RawRequest): Promise<RawResponse> => raw(fx.d.socketPath, r);
  const path = (route: string, params: Record<string, string | number> = {}): string => routePath(route, { sandbox: sb.id, ...params });
  const file = (route: string, p: string): string => `${path(route)}?path=${encodeURIComponent(p)}`;
  const expectError = async (r: RawRequest, code: Code): Promise<RawResponse> => {
    const res = await send(r);
    assert.equal(errorCode(res), code, `${r.method} ${r.path.slice(0, 120)}: ${res.status} ${res.text.slice(0, 300)}`);
    assert.equal(res.status, STATUS[code], `${r.method} ${r.path.slice(0, 120)}`);
    return res;
  };
  const inSandbox = async (script: string): Promise<string> => (await sb.exec(['sh', '-c', script])).stdout;
  /** Creates shedd has begun and not yet finished or undone (their operation rows are pending). */
  const createsInFlight = (): number => {
    const db = openDb({ path: join(fx.dirs.dataDir, 'shed.db') });
    try {
      return db.prepare<[], { n: number }>("SELECT COUNT(*) AS n FROM operations WHERE kind = 'create' AND state = 'pending'").get()?.n ?? 0;
    } finally {
      db.close();
    }
  };

  before(async () => {
    sb = await fx.shed.sandboxes.create({ name: 'target' });
    parked = await fx.shed.sandboxes.create({ name: 'parked' });
    await parked.stop({ graceMs: 0 });
  });

  it('malformed, oversized, wrongly typed and unknown-field bodies are invalid_argument', async () => {
    const create = (body: string | Buffer, contentType?: string): RawRequest => ({
      method: 'POST', path: ROUTES.sandboxes, body, ...(contentType === undefined ? {} : { contentType }),
    });
    const bodies: [string, RawRequest][] = [
      ['not JSON', create('{"name": "x",')],
      ['an array', create('[]')],
      ['a string', create('"sandbox"')],
      ['null', create('null')],
      ['an empty body', create('')],
      ['no image', create('{"name": "x"}')],
      ['a wrong type', create('{"image": "default", "name": 5}')],
      ['a wrong nested type', create('{"image": "default", "labels": {"a": 1}}')],
      ['an env name with =', create('{"image": "default", "env": {"A=B": "c"}}')],
      ['an unknown field', create('{"image": "default", "privileged": true}')],
      ['a __proto__ key', create('{"image": "default", "__proto__": {"admin": true}}')],
      ['a constructor.prototype key', create('{"image": "default", "constructor": {"prototype": {"admin": true}}}')],
      ['an out-of-range number', create('{"image": "default", "memoryMiB": 1e12}')],
      ['a negative number', create('{"image": "default", "cpuMillis": -5}')],
      ['a name shaped like an id', create('{"image": "default", "name": "sb-000000000000"}')],
      ['a name with a slash', create('{"image": "default", "name": "../etc"}')],
      ['a body claiming to be past the limit', { ...create('{"image": "default"'), declaredLength: LIMITS.jsonBodyBytes + 1 }],
      ['deep nesting', create(`{"labels":${'['.repeat(50_000)}${']'.repeat(50_000)}}`)],
      ['text/plain', create('{}', 'text/plain')],
      ['an unknown content type', create('{}', 'application/x-made-up')],
    ];
    for (const [what, req] of bodies) {
      await expectError(req, 'invalid_argument').catch((e: unknown) => assert.fail(`${what}: ${e instanceof Error ? e.message : String(e)}`));
    }
    // A body really past the limit: shedd answers 400 and may close the connection while the
    // client is still writing (fastify stops reading an oversized body), so a reset is fine too.
    const big = await send(create(Buffer.alloc(LIMITS.jsonBodyBytes + 1024, 0x20))).catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))));
    if (big instanceof Error) assert.match(big.message, /EPIPE|ECONNRESET/);
    else assert.equal(errorCode(big), 'invalid_argument');
    const exec = (body: string): RawRequest => ({ method: 'POST', path: path(ROUTES.exec), body });
    await expectError(exec('{"argv": []}'), 'invalid_argument');
    await expectError(exec('{"argv": "ls"}'), 'invalid_argument');
    await expectError(exec('{"argv": ["ls"], "timeoutMs": -1}'), 'invalid_argument');
    await expectError(exec('{"argv": ["ls"], "env": {"A=B": "c"}}'), 'invalid_argument');
    await expectError(exec('{"argv": ["ls"], "cwd": "relative"}'), 'invalid_argument');
    await expectError(exec('{"argv": ["ls"], "uid": 1.5}'), 'invalid_argument');
    await expectError(exec(JSON.stringify({ argv: ['x'.repeat(LIMITS.argChars + 1)] })), 'invalid_argument');
    await expectError({ method: 'POST', path: path(ROUTES.exec), body: '{"argv":["ls"]}', contentType: 'application/octet-stream' }, 'invalid_argument');
    assert.equal(await inSandbox('echo still'), 'still\n');
  });

  it('unknown ids, names, processes and routes are not_found; malformed ones invalid_argument', async () => {
    for (const ref of ['sb-000000000000', 'no-such-name', '..', '%2E%2E%2Fetc']) {
      await expectError({ method: 'GET', path: `/v1/sandboxes/${ref}` }, 'not_found');
      await expectError({ method: 'DELETE', path: `/v1/sandboxes/${ref}` }, 'not_found');
      await expectError({ method: 'POST', path: `/v1/sandboxes/${ref}/exec`, body: '{"argv":["true"]}' }, 'not_found');
    }
    await expectError({ method: 'GET', path: `/v1/sandboxes/${'x'.repeat(65)}` }, 'invalid_argument');
    for (const route of [ROUTES.output, ROUTES.kill, ROUTES.wait]) {
      const method = route === ROUTES.output ? 'GET' : 'POST';
      const body = route === ROUTES.output ? undefined : '{}';
      await expectError({ method, path: path(route, { procId: 999_999 }), ...(body === undefined ? {} : { body }) }, 'not_found');
      await expectError({ method, path: path(route, { procId: 'abc' }), ...(body === undefined ? {} : { body }) }, 'invalid_argument');
      await expectError({ method, path: path(route, { procId: 0 }), ...(body === undefined ? {} : { body }) }, 'invalid_argument');
      // Past the agent's u32: was a 500 from the agent client's own check.
      await expectError({ method, path: path(route, { procId: 2 ** 32 }), ...(body === undefined ? {} : { body }) }, 'invalid_argument');
    }
    await expectError({ method: 'GET', path: '/v1/nothing-here' }, 'not_found');
    await expectError({ method: 'PATCH', path: ROUTES.sandboxes, body: '{}' }, 'not_found');
  });

  it('hostile path strings are refused before they reach the agent', async () => {
    for (const p of ['etc/passwd', '', '/../../etc/passwd', '/root/../../etc/shadow', '/root/\0x', `/${'a'.repeat(LIMITS.pathChars)}`]) {
      await expectError({ method: 'GET', path: file(ROUTES.fileContent, p) }, 'invalid_argument');
      await expectError({ method: 'PUT', path: file(ROUTES.fileContent, p), body: 'x', contentType: 'application/octet-stream' }, 'invalid_argument');
      await expectError({ method: 'GET', path: file(ROUTES.fileList, p) }, 'invalid_argument');
      await expectError({ method: 'POST', path: path(ROUTES.fileRemove), body: JSON.stringify({ path: p, recursive: true }) }, 'invalid_argument');
      await expectError({ method: 'POST', path: path(ROUTES.fileRename), body: JSON.stringify({ from: '/tmp', to: p }) }, 'invalid_argument');
    }
    await expectError({ method: 'POST', path: path(ROUTES.fileRemove), body: '{"path": "/", "recursive": true}' }, 'invalid_argument');
    assert.equal(await inSandbox('test -d /etc && echo intact'), 'intact\n');
  });

  it('symlinks made inside the sandbox to /, /etc and a host path resolve inside the sandbox only', async () => {
    const probe = `shed-probe-${process.pid}-${Date.now()}`;
    const hostSecret = join(fx.dirs.dir, 'host-secret');
    await writeFile(hostSecret, 'host only');
    await inSandbox(`ln -s / /root/to-root && ln -s /etc /root/to-etc && ln -s ${hostSecret} /root/to-host && ln -s ${fx.dirs.dir} /root/to-host-dir`);
    const hostname = await inSandbox('cat /etc/hostname');

    // Read through the links: the sandbox's files, never the host's.
    const read = await send({ method: 'GET', path: file(ROUTES.fileContent, '/root/to-etc/hostname') });
    assert.equal(read.status, 200);
    assert.equal(read.text, hostname);
    const viaProc = await send({ method: 'GET', path: file(ROUTES.fileContent, '/proc/1/root/etc/hostname') });
    if (viaProc.status === 200) assert.equal(viaProc.text, hostname, "/proc/1/root is the sandbox's root");
    await expectError({ method: 'GET', path: file(ROUTES.fileContent, '/root/to-host') }, 'not_found');
    await expectError({ method: 'GET', path: file(ROUTES.fileList, '/root/to-host-dir') }, 'not_found');

    // Write and mkdir through them: the files appear in the sandbox's /etc, not the host's.
    const put = await send({ method: 'PUT', path: file(ROUTES.fileContent, `/root/to-etc/${probe}`), body: 'inside', contentType: 'application/octet-stream' });
    assert.equal(put.status, 200, put.text);
    assert.equal(await inSandbox(`cat /etc/${probe}`), 'inside');
    assert.equal(existsSync(`/etc/${probe}`), false, 'nothing written to the host');
    await expectError({ method: 'PUT', path: file(ROUTES.fileContent, '/root/to-host'), body: 'overwritten', contentType: 'application/octet-stream' }, 'not_found');
    assert.equal(await readFile(hostSecret, 'utf8'), 'host only', 'the host file is untouched');
    const mk = await send({ method: 'POST', path: path(ROUTES.fileMkdir), body: JSON.stringify({ path: `/root/to-root/${probe}-dir` }) });
    assert.equal(mk.status, 200, mk.text);
    assert.equal(await inSandbox(`test -d /${probe}-dir && echo made`), 'made\n');
    assert.equal(existsSync(`/${probe}-dir`), false);

    // List through the link to /: the sandbox's root.
    const list = await send({ method: 'GET', path: file(ROUTES.fileList, '/root/to-root') });
    assert.equal(list.status, 200);
    const names = (list.json as { entries: { name: string }[] }).entries.map((e) => e.name).sort(); // the response schema is checked by shedd
    assert.deepEqual(names, (await inSandbox('ls -A /')).split('\n').filter((n) => n !== '').sort());

    // Rename and remove through them act in the sandbox; removing a link removes the link.
    const mv = await send({ method: 'POST', path: path(ROUTES.fileRename), body: JSON.stringify({ from: `/root/to-etc/${probe}`, to: `/root/${probe}` }) });
    assert.equal(mv.status, 200, mv.text);
    assert.equal(await inSandbox(`cat /root/${probe}; test -e /etc/${probe} || echo ' moved'`), 'inside moved\n');
    for (const link of ['/root/to-host', '/root/to-host-dir', '/root/to-root']) {
      const rm = await send({ method: 'POST', path: path(ROUTES.fileRemove), body: JSON.stringify({ path: link, recursive: true }) });
      assert.equal(rm.status, 200, rm.text);
    }
    assert.equal(await readFile(hostSecret, 'utf8'), 'host only');
    assert.equal(await inSandbox(`test -d /${probe}-dir && test -d /etc && test ! -e /root/to-root && echo 'links gone, targets kept'`), 'links gone, targets kept\n');
  });

  it('transitions the state machine forbids are failed_precondition; a second delete is not_found', async () => {
    const on = (s: Sandbox, route: string): string => routePath(route, { sandbox: s.id });
    await expectError({ method: 'POST', path: on(parked, ROUTES.exec), body: '{"argv":["true"]}' }, 'failed_precondition');
    await expectError({ method: 'POST', path: on(parked, ROUTES.processes), body: '{"argv":["true"]}' }, 'failed_precondition');
    await expectError({ method: 'GET', path: `${on(parked, ROUTES.fileContent)}?path=/etc/hostname` }, 'failed_precondition');
    await expectError({ method: 'POST', path: on(parked, ROUTES.stop), body: '{}' }, 'failed_precondition');
    await expectError({ method: 'POST', path: on(sb, ROUTES.start), body: '{}' }, 'failed_precondition');
    await expectError({ method: 'POST', path: ROUTES.sandboxes, body: '{"image": "default", "name": "target"}' }, 'already_exists');
    const stopped = await send({ method: 'POST', path: on(sb, ROUTES.stop), body: '{"graceMs": 0}' });
    assert.equal(stopped.status, 200);
    await expectError({ method: 'POST', path: on(sb, ROUTES.stop), body: '{}' }, 'failed_precondition');
    assert.equal((await send({ method: 'POST', path: on(sb, ROUTES.start), body: '{}' })).status, 200);
    const gone = await fx.shed.sandboxes.create({ name: 'twice' });
    assert.equal((await send({ method: 'DELETE', path: on(gone, ROUTES.sandbox) })).status, 200);
    await expectError({ method: 'DELETE', path: on(gone, ROUTES.sandbox) }, 'not_found');
  });

  it('execs racing a stop get an answer or a clean error (failed_precondition or unavailable), never internal', async () => {
    const racer = await fx.shed.sandboxes.create({ name: 'racer' });
    const execs = Array.from({ length: 20 }, () => send({ method: 'POST', path: routePath(ROUTES.exec, { sandbox: racer.id }), body: '{"argv":["sleep","0.2"]}' }));
    await new Promise((r) => setTimeout(r, 20));
    const stop = send({ method: 'POST', path: routePath(ROUTES.stop, { sandbox: racer.id }), body: '{"graceMs": 0}' });
    const answers = await Promise.all(execs);
    assert.equal((await stop).status, 200);
    const bad = answers.filter((a) => a.status !== 200 && errorCode(a) !== 'failed_precondition' && errorCode(a) !== 'unavailable');
    assert.deepEqual(bad.map((a) => `${a.status} ${a.text.slice(0, 200)}`), []);
    await racer.delete();
  });

  it('creates whose client hangs up part way are undone or complete, and leave nothing else', async () => {
    const before = (await fx.shed.sandboxes.list()).length;
    await Promise.all(Array.from({ length: 6 }, async (_, i) => {
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 2 + i * 3);
      await send({ method: 'POST', path: ROUTES.sandboxes, body: JSON.stringify({ image: 'default', name: `hangup-${i}` }), signal: ac.signal }).catch(() => undefined);
    }));
    // The server notices each hang-up and undoes that create (or finishes it, when the hang-up
    // came too late): wait until no create is left in flight by its operation rows, seen
    // twice a moment apart (a request still on its way to shedd starts one).
    const deadline = Date.now() + 30_000;
    for (let quiet = createsInFlight() === 0 ? 1 : 0; quiet < 2; quiet = createsInFlight() === 0 ? quiet + 1 : 0) {
      assert.ok(Date.now() < deadline, 'the hung-up creates were still in flight after 30 s');
      await sleep(200);
    }
    const left = (await fx.shed.sandboxes.list()).filter((s) => (s.info.name ?? '').startsWith('hangup-'));
    for (const s of left) {
      assert.equal(s.info.state, 'running', 'a create that finished is whole');
      await s.delete();
    }
    assert.equal((await fx.shed.sandboxes.list()).length, before);
  });

  it('a flood of 1,000 requests at once: each gets its own answer, and shedd stays up', async () => {
    const kinds: [RawRequest, number, Code | undefined][] = [
      [{ method: 'GET', path: ROUTES.health }, 200, undefined],
      [{ method: 'GET', path: '/v1/sandboxes/sb-000000000000' }, 404, 'not_found'],
      [{ method: 'POST', path: ROUTES.sandboxes, body: '{"name":' }, 400, 'invalid_argument'],
      [{ method: 'POST', path: routePath(ROUTES.exec, { sandbox: parked.id }), body: '{"argv":["true"]}' }, 412, 'failed_precondition'],
      [{ method: 'GET', path: routePath(ROUTES.sandbox, { sandbox: sb.id }) }, 200, undefined],
    ];
    const results = await Promise.all(Array.from({ length: 1000 }, async (_, i) => {
      const [req, status, code] = kinds[i % kinds.length] ?? assert.fail('kinds is not empty');
      const res = await send(req);
      return res.status === status && errorCode(res) === code ? 'ok' : `${req.method} ${req.path}: ${res.status} ${res.text.slice(0, 200)}`;
    }));
    assert.deepEqual(results.filter((r) => r !== 'ok'), []);
    assert.equal((await sb.exec(['echo', 'alive'])).stdout, 'alive\n');
  });
});
