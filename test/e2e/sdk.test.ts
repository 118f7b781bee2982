// End to end through the SDK: a real shedd, the container driver, the built-in `default`
// image and the agent as PID 1 of each sandbox.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { ShedApiError, type Sandbox } from '@shed/sdk';
import { useLeakCheck } from '../helpers/leaks.js';
import { e2eUnavailable, useShedd } from './shedd.js';

const skip = await e2eUnavailable();
if (skip !== undefined) console.log(`# e2e SDK tests skipped: ${skip}`);
useLeakCheck();

const code = (c: string) => (e: unknown) => e instanceof ShedApiError && e.code === c;

describe('e2e: SDK → shedd → container driver → agent', { skip }, () => {
  const fx = useShedd('shed-e2e-sdk-');
  let sb: Sandbox;

  before(async () => {
    sb = await fx.shed.sandboxes.create({ image: 'default', name: 'e2e', labels: { suite: 'e2e-sdk' }, env: { FROM_SANDBOX: 'yes' } });
  });

  it('reports the container driver as usable', async () => {
    const h = await fx.shed.health();
    assert.equal(h.pid, fx.d.pid);
    assert.equal(h.driver.name, 'container');
    assert.equal(h.driver.usable, true, h.driver.problems.join('; '));
  });

  it('creates an isolated sandbox: own hostname, root inside, only its own processes', async () => {
    assert.equal(sb.info.state, 'running');
    const r = await sb.exec(['sh', '-c', 'hostname; id -u; ps -o pid,comm | tail -n +2']);
    assert.equal(r.exitCode, 0, r.stderr);
    const [hostname, uid, ...ps] = r.stdout.trim().split('\n');
    assert.equal(hostname, 'e2e');
    assert.equal(uid, '0');
    // PID 1 is the agent; the rest is this very command: sh, then ps and tail. Busybox's
    // shell starts applets by re-executing /proc/self/exe, so a child caught mid-way reads
    // as `exe` (or still `sh`).
    assert.match(ps[0] ?? '', /^\s*1 agent$/);
    assert.ok(ps.length <= 4, ps.join('\n'));
    assert.ok(ps.every((l) => /^\s*\d+ (agent|sh|ps|tail|exe)$/.test(l)), ps.join('\n'));
  });

  it('runs a buffered exec with the image and sandbox environment, its exit code and stderr', async () => {
    const r = await sb.exec(['sh', '-c', 'echo "$FROM_SANDBOX $X $PATH"; echo err >&2; exit 3'], { env: { X: 'cmd' } });
    assert.equal(r.stdout, 'yes cmd /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n');
    assert.deepEqual([r.stderr, r.exitCode, r.signal, r.timedOut], ['err\n', 3, null, false]);
    assert.ok((r.timings['total'] ?? -1) >= 0);
  });

  it('streams a spawned process, feeding it stdin', async () => {
    const p = await sb.spawn(['sh', '-c', 'while read l; do echo "got $l"; done; echo done >&2'], { stdin: true });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const reading = Promise.all([(async () => { for await (const c of p.stdout) out.push(c); })(), (async () => { for await (const c of p.stderr) err.push(c); })()]);
    await p.write('a\n');
    await p.write('b\n');
    await p.end();
    await reading;
    assert.deepEqual(await p.wait(), { exitCode: 0, signal: null, timedOut: false });
    assert.equal(Buffer.concat(out).toString(), 'got a\ngot b\n');
    assert.equal(Buffer.concat(err).toString(), 'done\n');
  });

  it('round-trips files, a large one included, inside the sandbox only', async () => {
    await sb.files.mkdir('/root/work/deep', { parents: true });
    await sb.files.write('/root/work/a.txt', 'hello');
    assert.equal(await sb.files.readText('/root/work/a.txt'), 'hello');
    assert.equal((await sb.exec(['cat', '/root/work/a.txt'])).stdout, 'hello', 'a command sees what the files API wrote');
    const big = Buffer.alloc(24 * 1024 * 1024 + 7);
    for (let i = 0; i < big.length; i += 1024) big[i] = (i / 1024) % 251;
    assert.deepEqual(await sb.files.write('/root/work/big.bin', big), { sizeBytes: big.length });
    assert.ok((await sb.files.read('/root/work/big.bin')).equals(big), 'the large file reads back byte for byte');
    assert.equal((await sb.exec(['sh', '-c', 'wc -c < /root/work/big.bin'])).stdout.trim(), String(big.length));
    assert.deepEqual((await sb.files.list('/root/work')).map((e) => e.name).sort(), ['a.txt', 'big.bin', 'deep']);
    await sb.files.rename('/root/work/a.txt', '/root/work/deep/b.txt');
    assert.equal((await sb.files.stat('/root/work/deep/b.txt')).sizeBytes, 5);
  });

  it('refuses hostile paths, and symlinks never reach the host', async () => {
    await assert.rejects(sb.files.readText('etc/passwd'), code('invalid_argument'));
    await assert.rejects(sb.files.readText('/root/../../etc/shadow'), code('invalid_argument'));
    await assert.rejects(sb.files.write('/tmp/a\0b', 'x'), code('invalid_argument'));
    await assert.rejects(sb.files.readText(`/${'x'.repeat(5000)}`), code('invalid_argument'));
    // A file on the host, and a link inside the sandbox naming its host path: the link
    // resolves inside the sandbox's root, where that path does not exist.
    const secret = join(fx.d.dir, 'host-secret.txt');
    await writeFile(secret, 'host only');
    assert.equal((await sb.exec(['ln', '-s', secret, '/tmp/escape'])).exitCode, 0);
    await assert.rejects(sb.files.readText('/tmp/escape'), code('not_found'));
    assert.equal((await sb.exec(['ln', '-s', '../../../../../../..', '/tmp/up'])).exitCode, 0);
    await assert.rejects(sb.files.readText(`/tmp/up${secret}`), code('not_found'));
    await assert.rejects(sb.files.write('/proc/sys/kernel/hostname', 'pwned'), (e) => e instanceof ShedApiError);
  });

  it('lists by label and inspects with create phase timings', async () => {
    assert.deepEqual((await fx.shed.sandboxes.list({ labels: { suite: 'e2e-sdk' } })).map((s) => s.id), [sb.id]);
    const info = await sb.refresh();
    const create = info.timings.create ?? {};
    for (const phase of ['image', 'driver', 'driver.overlay', 'driver.runtime', 'driver.ready', 'total']) {
      assert.ok(typeof create[phase] === 'number', `create timing '${phase}' in ${JSON.stringify(create)}`);
    }
    assert.ok((info.timings.lastExec?.['total'] ?? -1) >= 0, 'the last exec is timed');
    assert.equal((await fx.shed.sandboxes.get('e2e')).id, sb.id);
  });

  it('stops and starts, keeping the files', async () => {
    await sb.files.write('/root/kept.txt', 'still here');
    await sb.stop({ graceMs: 1000 });
    assert.equal(sb.info.state, 'stopped');
    await assert.rejects(sb.exec(['true']), code('failed_precondition'));
    await sb.start();
    assert.equal(sb.info.state, 'running');
    assert.ok((sb.info.timings.start?.['total'] ?? -1) > 0);
    assert.equal(await sb.files.readText('/root/kept.txt'), 'still here');
    assert.equal((await sb.exec(['cat', '/root/work/deep/b.txt'])).stdout, 'hello');
  });

  it('gives stable codes to unknown fields, wrong types, unknown ids and images', async () => {
    // Bypass the SDK's typed options the way a hand-written client could.
    await assert.rejects(fx.shed.sandboxes.create({ image: 'default', bogus: 1 } as never), code('invalid_argument'));
    await assert.rejects(fx.shed.sandboxes.create({ image: 'default', memoryMiB: '512' } as never), code('invalid_argument'));
    await assert.rejects(sb.exec([]), code('invalid_argument'));
    await assert.rejects(sb.exec(['true'], { bogus: true } as never), code('invalid_argument'));
    await assert.rejects(fx.shed.sandboxes.get('sb-000000000000'), code('not_found'));
    await assert.rejects(fx.shed.sandboxes.get('no-such-name'), code('not_found'));
    await assert.rejects(fx.shed.sandboxes.create({ image: 'no-such-image' }), code('not_found'));
    await assert.rejects(fx.shed.sandboxes.create({ name: 'e2e' }), code('already_exists'));
    assert.equal((await fx.shed.sandboxes.list()).length, 1, 'no failed create left a sandbox behind');
  });

  it('deletes: the sandbox and everything it had are gone', async () => {
    const other = await fx.shed.sandboxes.create({});
    assert.equal((await other.exec(['echo', 'short-lived'])).stdout, 'short-lived\n');
    await other.delete();
    await assert.rejects(other.refresh(), code('not_found'));
    await assert.rejects(other.exec(['true']), code('not_found'));
  });
});
