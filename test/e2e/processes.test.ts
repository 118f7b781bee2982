// Exec sessions end to end: list a sandbox's processes, reattach to one by id from an output
// offset, signal it — through the SDK and through the `shed` binary, across a shedd restart.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { before, describe, it } from 'node:test';
import { ShedApiError, type Sandbox, type SandboxProcess } from '@shed/sdk';
import { useLeakCheck } from '../helpers/leaks.js';
import { CLI, e2eUnavailable, runCli, useShedd } from './shedd.js';

const skip = await e2eUnavailable();
if (skip !== undefined) console.log(`# e2e process tests skipped: ${skip}`);
useLeakCheck();

const shed = runCli;

/** Reads stdout until `want` lines have arrived, then stops reading (the process goes on). */
async function firstLines(p: SandboxProcess, want: number): Promise<string[]> {
  let text = '';
  for await (const chunk of p.stdout) {
    text += chunk.toString();
    if (text.split('\n').length > want) break;
  }
  return text.split('\n').slice(0, want);
}

describe('e2e: exec sessions (list, reattach from an offset, kill)', { skip }, () => {
  const fx = useShedd('shed-e2e-procs-');
  let sb: Sandbox;

  before(async () => {
    sb = await fx.shed.sandboxes.create({ image: 'default' });
  });

  it('lists spawned processes with argv, state and output end; exited ones keep their status', async () => {
    const p = await sb.spawn(['sh', '-c', 'echo one; echo two; exit 4']);
    assert.equal((await p.wait()).exitCode, 4);
    const sleeper = await sb.spawn(['sleep', '300']);
    // Spawned without a stdin pipe: there is nothing to write to.
    await assert.rejects(sleeper.write('x'), (e) => e instanceof ShedApiError && e.code === 'failed_precondition');
    const list = await sb.processes();
    const done = list.find((e) => e.procId === p.procId);
    const running = list.find((e) => e.procId === sleeper.procId);
    assert.deepEqual(
      done && { argv: done.argv, state: done.state, exitCode: done.exitCode, outputBytes: done.outputBytes, pty: done.pty },
      { argv: ['sh', '-c', 'echo one; echo two; exit 4'], state: 'exited', exitCode: 4, outputBytes: 8, pty: false },
    );
    assert.equal(running?.state, 'running');
    assert.equal(running?.pid, sleeper.pid);
    await sb.kill(sleeper.procId, 'SIGKILL');
    assert.deepEqual(await sleeper.wait(), { exitCode: null, signal: 'SIGKILL', timedOut: false });
  });

  it('reattaches from the offset a dropped reader reached: no gap, no repeat', async () => {
    const p = await sb.spawn(['sh', '-c', 'i=0; while [ $i -lt 2000 ]; do echo line-$i; i=$((i+1)); done; exit 3']);
    const seen = await firstLines(p, 10);
    const offset = p.offset;
    assert.ok(offset > 0);
    const again = await sb.attach(p.procId, { offset });
    let rest = '';
    for await (const chunk of again.stdout) rest += chunk.toString();
    assert.deepEqual(await again.wait(), { exitCode: 3, signal: null, timedOut: false });
    const expected = Array.from({ length: 2000 }, (_, i) => `line-${i}\n`).join('');
    assert.deepEqual(seen, expected.split('\n').slice(0, 10));
    // The reattached reader gets exactly the output from the first reader's offset on.
    assert.equal(rest, expected.slice(offset));
    assert.equal(again.offset, expected.length);
  });

  it('an unknown process is not_found; a bad id is refused', async () => {
    await assert.rejects(sb.attach(999_999), (e) => e instanceof ShedApiError && e.code === 'not_found');
    await assert.rejects(sb.kill(999_999), (e) => e instanceof ShedApiError && e.code === 'not_found');
    const r = await shed(fx.d, 'attach', sb.id, 'abc');
    assert.equal(r.code, 2, r.stderr);
  });

  it('the CLI lists, attaches and kills, and a process survives a kill -9 of shedd', async () => {
    const p = await sb.spawn(['sh', '-c', 'echo ready; read x; echo "got $x"; sleep 300'], { stdin: true });
    await firstLines(p, 1);
    const stdin = p.write('hello\n');
    await stdin;
    await fx.restart('kill9');
    const ps = await shed(fx.d, 'ps', sb.id);
    assert.equal(ps.code, 0, ps.stderr);
    assert.match(ps.stdout, /^PROC\s+PID\s+STATE\s+EXIT\s+OUTPUT\s+COMMAND$/m);
    assert.match(ps.stdout, new RegExp(`^${p.procId}\\s+${p.pid}\\s+running\\s+\\d+\\s+sh -c echo ready`, 'm'));
    const json = JSON.parse((await shed(fx.d, '--json', 'ps', sb.id)).stdout) as { procId: number; state: string }[];
    assert.equal(json.find((e) => e.procId === p.procId)?.state, 'running');
    // The attach prints what was written before the restart, then waits for the exit the kill
    // brings: the kill is sent once that output has arrived, however long the CLI took to start.
    const attach = spawn(process.execPath, [CLI, 'attach', '--offset', '0', sb.id, String(p.procId)], { env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...fx.d.env } });
    let stdout = '';
    let stderr = '';
    const printed = new Promise<void>((resolve) => attach.stdout.setEncoding('utf8').on('data', (s: string) => {
      stdout += s;
      if (stdout.includes('got hello\n')) resolve();
    }));
    attach.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const exited = once(attach, 'close') as Promise<[number | null]>; // 'close' gives the exit code first
    await Promise.race([printed, exited.then(() => assert.fail(`attach exited before the kill: ${stderr}`))]);
    assert.equal(attach.exitCode, null, 'attach is still waiting for the exit');
    const killed = await shed(fx.d, 'kill', '-s', 'KILL', sb.id, String(p.procId));
    assert.equal(killed.code, 0, killed.stderr);
    const [code] = await exited;
    assert.deepEqual({ code, stdout, stderr }, { code: 137, stdout: 'ready\ngot hello\n', stderr: '' });
  });
});
