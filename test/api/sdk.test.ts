// The API through the SDK: life cycle, exec, spawn with stdin, files, and the error codes
// clients rely on. The sandboxes are real agents (test/helpers/agent-driver.ts).
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Shed, ShedApiError, type Sandbox } from '@shed/sdk';
import { agentUnavailable } from '../helpers/agent.js';
import { assertNoLeaks, trackTempDir } from '../helpers/leaks.js';
import { startHarness, type Harness } from './harness.js';

const skip = await agentUnavailable();
if (skip !== undefined) console.log(`# sdk API tests skipped: ${skip}`);

const code = (c: string) => (e: unknown) => e instanceof ShedApiError && e.code === c;

describe('API through the SDK', { skip }, () => {
  let h: Harness;
  let shed: Shed;
  let sb: Sandbox;
  let scratch: string;

  before(async () => {
    h = await startHarness();
    shed = await Shed.connect({ socketPath: h.socketPath });
    sb = await shed.sandboxes.create({ image: 'default', name: 'api-test', labels: { suite: 'sdk' }, env: { FROM_SANDBOX: 'yes' } });
    scratch = await mkdtemp(join(tmpdir(), 'shed-api-files-'));
    trackTempDir(scratch);
  });

  after(async () => {
    await shed.sandboxes.list().then((all) => Promise.all(all.map((s) => s.delete())));
    shed.close();
    await h.close();
    await rm(scratch, { recursive: true, force: true });
    assert.equal(h.driver.count, 0, 'every sandbox was destroyed');
    await assertNoLeaks();
  });

  it('creates a running sandbox with create timings', () => {
    assert.match(sb.id, /^sb-[0-9a-f]{12}$/);
    assert.equal(sb.info.state, 'running');
    assert.equal(sb.info.hostname, 'api-test');
    assert.ok((sb.info.timings.create?.['total'] ?? 0) > 0);
  });

  it('runs a buffered exec with the image and sandbox environment merged', async () => {
    const r = await sb.exec(['sh', '-c', 'echo "$FROM_IMAGE $FROM_SANDBOX $X"; echo err >&2; exit 3'], { env: { X: 'cmd' } });
    assert.deepEqual([r.stdout, r.stderr, r.exitCode, r.signal, r.timedOut], ['1 yes cmd\n', 'err\n', 3, null, false]);
    assert.ok(r.timings['total'] !== undefined);
  });

  it('feeds stdin to exec and reports a timeout', async () => {
    assert.equal((await sb.exec(['cat'], { stdin: 'from stdin' })).stdout, 'from stdin');
    const t = await sb.exec(['sleep', '5'], { timeoutMs: 100 });
    assert.equal(t.timedOut, true);
    assert.equal(t.signal, 'SIGKILL');
  });

  it('streams a spawned process with stdin, and waits for its exit', async () => {
    const p = await sb.spawn(['sh', '-c', 'while read l; do echo "got $l"; done; echo done >&2'], { stdin: true });
    const out: string[] = [];
    const reading = (async () => { for await (const c of p.stdout) out.push(c.toString()); })();
    const errs: string[] = [];
    const readingErr = (async () => { for await (const c of p.stderr) errs.push(c.toString()); })();
    await p.write('a\n');
    await p.write('b\n');
    await p.end();
    await Promise.all([reading, readingErr]);
    assert.deepEqual(await p.wait(), { exitCode: 0, signal: null, timedOut: false });
    assert.equal(out.join(''), 'got a\ngot b\n');
    assert.equal(errs.join(''), 'done\n');
  });

  it('kills a spawned process', async () => {
    const p = await sb.spawn(['sleep', '30']);
    await p.kill('SIGTERM');
    assert.deepEqual(await p.wait(), { exitCode: null, signal: 'SIGTERM', timedOut: false });
  });

  it('round-trips files, including a large one, and lists, stats, renames and removes', async () => {
    const dir = join(scratch, 'd');
    await sb.files.mkdir(dir, { parents: true });
    await sb.files.write(`${dir}/a.txt`, 'hello');
    assert.equal(await sb.files.readText(`${dir}/a.txt`), 'hello');
    const big = Buffer.alloc(8 * 1024 * 1024 + 13);
    for (let i = 0; i < big.length; i += 4096) big[i] = i % 251;
    assert.deepEqual(await sb.files.write(`${dir}/big.bin`, big), { sizeBytes: big.length });
    assert.ok((await sb.files.read(`${dir}/big.bin`)).equals(big));
    assert.equal((await sb.files.stat(`${dir}/big.bin`)).sizeBytes, big.length);
    assert.deepEqual((await sb.files.list(dir)).map((e) => e.name).sort(), ['a.txt', 'big.bin']);
    await sb.files.rename(`${dir}/a.txt`, `${dir}/b.txt`);
    await sb.files.remove(dir, { recursive: true });
    await assert.rejects(sb.files.stat(dir), code('not_found'));
  });

  it('refuses relative paths and .. segments with invalid_argument', async () => {
    await assert.rejects(sb.files.readText('etc/passwd'), code('invalid_argument'));
    await assert.rejects(sb.files.readText(`${scratch}/../../etc/passwd`), code('invalid_argument'));
    await assert.rejects(sb.files.write('/tmp/../x', 'x'), code('invalid_argument'));
  });

  it('lists by label, finds by name, and 404s unknown ids with not_found', async () => {
    assert.deepEqual((await shed.sandboxes.list({ labels: { suite: 'sdk' } })).map((s) => s.id), [sb.id]);
    assert.deepEqual(await shed.sandboxes.list({ labels: { suite: 'other' } }), []);
    assert.equal((await shed.sandboxes.get('api-test')).id, sb.id);
    await assert.rejects(shed.sandboxes.get('sb-000000000000'), code('not_found'));
    await assert.rejects(shed.sandboxes.create({ name: 'api-test' }), code('already_exists'));
  });

  it('rejects unknown fields and wrong types with invalid_argument', async () => {
    // Bypass the SDK's typed options the way a hand-written client could.
    await assert.rejects(shed.sandboxes.create({ image: 'default', bogus: 1 } as never), code('invalid_argument'));
    await assert.rejects(shed.sandboxes.create({ image: 'default', memoryMiB: '512' } as never), code('invalid_argument'));
    await assert.rejects(sb.exec([]), code('invalid_argument'));
    await assert.rejects(shed.sandboxes.create({ image: 'nope' }), code('not_found'));
  });

  it('stops and starts, refusing commands while stopped', async () => {
    const other = await shed.sandboxes.create({});
    await other.stop();
    assert.equal(other.info.state, 'stopped');
    await assert.rejects(other.exec(['true']), code('failed_precondition'));
    await assert.rejects(other.stop(), code('failed_precondition'));
    await other.start();
    assert.equal(other.info.state, 'running');
    assert.ok(other.info.timings.start !== undefined);
    assert.equal((await other.exec(['echo', 'back'])).stdout, 'back\n');
    await other.delete();
    await assert.rejects(other.refresh(), code('not_found'));
  });

  it('serves its OpenAPI document', async () => {
    const res = await fetchJson(h.socketPath, '/v1/openapi.json');
    assert.equal(res.status, 200);
    assert.ok(JSON.stringify(res.body).includes('/v1/sandboxes/{sandbox}/exec'));
  });
});

async function fetchJson(socketPath: string, path: string): Promise<{ status: number; body: unknown }> {
  const { request } = await import('node:http');
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end();
  });
}
