// End to end through the `shed` binary: against a shedd this test started, and starting one
// on demand the way a user's first command does.
import assert from 'node:assert/strict';
import { access, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Shed } from '@shed/sdk';
import { useLeakCheck } from '../helpers/leaks.js';
import { isRunning } from '../helpers/procs.js';
import { daemonDirs, e2eUnavailable, runCli, startShedd, stopByPid, type DaemonDirs, type Shedd } from './shedd.js';

const skip = await e2eUnavailable();
if (skip !== undefined) console.log(`# e2e CLI tests skipped: ${skip}`);
useLeakCheck();

const shed = runCli;

describe('e2e: shed CLI against a running shedd', { skip }, () => {
  let d: Shedd;

  before(async () => {
    d = await startShedd(await daemonDirs('shed-e2e-cli-'));
  });

  after(async () => {
    const left = JSON.parse((await shed(d, '--json', 'ls')).stdout) as { id: string }[];
    for (const s of left) await shed(d, 'rm', s.id);
    await d?.stop();
  });

  it('run --rm prints the output, propagates the exit code and leaves no sandbox', async () => {
    assert.deepEqual(await shed(d, 'run', '--rm', 'default', '--', 'echo', 'hi'), { code: 0, stdout: 'hi\n', stderr: '' });
    const failing = await shed(d, 'run', '--rm', 'default', '--', 'sh', '-c', 'echo out; echo oops >&2; exit 7');
    assert.deepEqual(failing, { code: 7, stdout: 'out\n', stderr: 'oops\n' });
    const killed = await shed(d, 'run', '--rm', 'default', '--', 'sh', '-c', 'kill -9 $$');
    assert.equal(killed.code, 128 + 9, 'a signal death is 128 + its number, like a shell');
    assert.deepEqual(JSON.parse((await shed(d, '--json', 'ls')).stdout), []);
  });

  it('create, exec, cp both ways, ls --json, inspect and rm', async () => {
    const created = await shed(d, 'create', 'default', '--name', 'cli-box', '--label', 'k=v');
    assert.equal(created.code, 0, created.stderr);
    const id = created.stdout.trim();
    assert.match(id, /^sb-[0-9a-f]{12}$/);
    assert.deepEqual(await shed(d, 'exec', 'cli-box', '--', 'hostname'), { code: 0, stdout: 'cli-box\n', stderr: '' });
    assert.equal((await shed(d, 'exec', id, '--', 'sh', '-c', 'exit 5')).code, 5);
    await writeFile(join(d.dir, 'in.txt'), 'copied in');
    assert.equal((await shed(d, 'cp', join(d.dir, 'in.txt'), `${id}:/root/in.txt`)).code, 0);
    assert.equal((await shed(d, 'exec', id, '--', 'cat', '/root/in.txt')).stdout, 'copied in');
    assert.equal((await shed(d, 'exec', id, '--', 'sh', '-c', 'echo made inside > /root/out.txt')).code, 0);
    assert.equal((await shed(d, 'cp', `cli-box:/root/out.txt`, join(d.dir, 'out.txt'))).code, 0);
    assert.equal(await readFile(join(d.dir, 'out.txt'), 'utf8'), 'made inside\n');
    const listed = JSON.parse((await shed(d, '--json', 'ls', '--label', 'k=v')).stdout) as { id: string; state: string; driver: string }[];
    assert.deepEqual(listed.map((s) => [s.id, s.state, s.driver]), [[id, 'running', 'container']]);
    const inspect = await shed(d, 'inspect', id);
    assert.match(inspect.stdout, /state: +running/);
    assert.match(inspect.stdout, /PHASE \(ms\) +CREATE[^\n]*\n[\s\S]*\ndriver\.runtime +\d+\.\d\d[\s\S]*\ntotal +\d+\.\d\d/);
    assert.equal((await shed(d, 'rm', id)).code, 0);
    assert.deepEqual(JSON.parse((await shed(d, '--json', 'ls')).stdout), []);
  });

  it('reports errors with their stable code and a non-zero status', async () => {
    const unknown = await shed(d, 'inspect', 'sb-000000000000');
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /\(not_found\)/);
    const noImage = await shed(d, 'run', '--rm', 'no-such-image', '--', 'true');
    assert.equal(noImage.code, 1);
    assert.match(noImage.stderr, /\(not_found\)/);
    const badMemory = await shed(d, 'create', 'default', '--memory-mib', 'lots');
    assert.equal(badMemory.code, 2, badMemory.stderr);
    assert.match(badMemory.stderr, /invalid_argument|memory/);
    assert.equal((await shed(d, 'cp', 'a', 'b')).code, 2, 'cp needs a sandbox on one side');
  });
});

describe('e2e: the first shed command starts shedd on demand', { skip }, () => {
  let dirs: DaemonDirs;
  let pid: number | undefined;

  before(async () => {
    dirs = await daemonDirs('shed-e2e-ondemand-');
  });

  after(async () => {
    // Whatever happened above, the shedd the CLI started must not outlive the test: ask the
    // socket for its pid when the test did not get that far.
    pid ??= await Shed.connect({ socketPath: dirs.socketPath }).then(
      async (c) => {
        try {
          return (await c.health()).pid;
        } finally {
          c.close();
        }
      },
      () => undefined,
    );
    if (pid !== undefined && (await isRunning(pid))) await stopByPid(pid);
  });

  it('starts shedd, runs the command, says where the log is, and leaves shedd running', async () => {
    // Only the directories are given: the socket is found where shedd puts it, in the run dir.
    const { SHED_SOCKET: _, ...env } = dirs.env;
    const r = await shed({ ...dirs, env }, 'run', '--rm', 'default', '--', 'sh', '-c', 'echo "hello from $(hostname)"');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^hello from sb-[0-9a-f]{12}\n$/);
    const m = /started shedd \(pid (\d+)\).*logging to (\S+)/.exec(r.stderr);
    assert.ok(m !== null, `stderr names the started shedd and its log: ${r.stderr}`);
    pid = Number(m[1]);
    assert.equal(m[2], join(dirs.runDir, 'shedd.log'));
    await access(join(dirs.runDir, 'shedd.log'));
    const client = await Shed.connect({ socketPath: dirs.socketPath });
    try {
      assert.equal((await client.health()).pid, pid, 'the started shedd serves <run dir>/shed.sock');
    } finally {
      client.close();
    }
    const again = await shed({ ...dirs, env }, 'run', '--rm', 'default', '--', 'true');
    assert.deepEqual(again, { code: 0, stdout: '', stderr: '' }, 'the next command uses the running shedd');
  });
});
