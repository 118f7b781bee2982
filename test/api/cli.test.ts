// The `shed` binary against a served API: exit codes, streamed output, --json, cp.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { agentUnavailable } from '../helpers/agent.js';
import { assertNoLeaks, trackTempDir } from '../helpers/leaks.js';
import { startHarness, type Harness } from './harness.js';

const CLI = join(resolve(fileURLToPath(import.meta.url), '../../../..'), 'packages/cli/dist/main.js');
const skip = await agentUnavailable();
if (skip !== undefined) console.log(`# CLI tests skipped: ${skip}`);

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

describe('shed CLI', { skip }, () => {
  let h: Harness;
  let dir: string;
  const shed = (...args: string[]): Promise<Result> =>
    new Promise((done) => {
      execFile(process.execPath, [CLI, '--socket', h.socketPath, ...args], (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
        done({ code, stdout, stderr });
      });
    });

  before(async () => {
    h = await startHarness();
    dir = await mkdtemp(join(tmpdir(), 'shed-cli-test-'));
    trackTempDir(dir);
  });

  after(async () => {
    await h.close();
    await rm(dir, { recursive: true, force: true });
    assert.equal(h.driver.count, 0);
    await assertNoLeaks();
  });

  it('run --rm streams output, returns the exit code and leaves no sandbox', async () => {
    const r = await shed('run', '--rm', 'default', '--', 'sh', '-c', 'echo hi; echo oops >&2; exit 7');
    assert.deepEqual(r, { code: 7, stdout: 'hi\n', stderr: 'oops\n' });
    assert.deepEqual(JSON.parse((await shed('--json', 'ls')).stdout), []);
  });

  it('create, exec, inspect, cp both ways, ls --json and rm', async () => {
    const created = await shed('create', 'default', '--name', 'cli-box', '--label', 'k=v');
    assert.equal(created.code, 0, created.stderr);
    const id = created.stdout.trim();
    assert.match(id, /^sb-[0-9a-f]{12}$/);
    assert.deepEqual(await shed('exec', 'cli-box', '--', 'echo', 'inside'), { code: 0, stdout: 'inside\n', stderr: '' });
    const inspect = await shed('inspect', id);
    assert.match(inspect.stdout, /state: +running/);
    assert.match(inspect.stdout, /PHASE \(ms\) +CREATE[^\n]*\n[\s\S]*\ntotal +\d+\.\d\d/);
    await writeFile(join(dir, 'in.txt'), 'copied');
    assert.equal((await shed('cp', join(dir, 'in.txt'), `${id}:${dir}/remote.txt`)).code, 0);
    assert.equal((await shed('cp', `${id}:${dir}/remote.txt`, join(dir, 'out.txt'))).code, 0);
    assert.equal(await readFile(join(dir, 'out.txt'), 'utf8'), 'copied');
    const listed = JSON.parse((await shed('--json', 'ls', '--label', 'k=v')).stdout) as { id: string }[];
    assert.deepEqual(listed.map((s) => s.id), [id]);
    assert.equal((await shed('rm', id)).code, 0);
  });

  it('reports API errors with their code and a non-zero status', async () => {
    const r = await shed('inspect', 'sb-000000000000');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /\(not_found\)/);
    const bad = await shed('cp', 'a', 'b');
    assert.equal(bad.code, 2);
  });
});
