// `shed shell` in a real terminal: the CLI binary runs in a detached tmux session (its own
// server on a socket in this test's temp dir), keys are typed with send-keys and the
// screen read with capture-pane. Also the pipe mode (stdin not a terminal).
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { useLeakCheck } from '../helpers/leaks.js';
import { CLI, e2eUnavailable, useShedd } from './shedd.js';

async function unavailable(): Promise<string | undefined> {
  const e2e = await e2eUnavailable();
  if (e2e !== undefined) return e2e;
  return spawnSync('tmux', ['-V']).status === 0 ? undefined : "needs tmux (scripts/setup.sh installs it)";
}

const skip = await unavailable();
if (skip !== undefined) console.log(`# e2e shell CLI tests skipped: ${skip}`);
useLeakCheck();

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

function run(file: string, args: readonly string[], input?: string, env?: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = execFile(file, args, { env: env ?? process.env }, (err, stdout, stderr) => {
      done({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
    });
    child.stdin?.on('error', () => undefined); // a command that does not read its stdin (tmux) may exit first
    child.stdin?.end(input);
  });
}

describe('e2e: shed shell in a terminal (tmux) and on pipes', { skip }, () => {
  let tmuxSocket: string;
  const fx = useShedd('shed-e2e-shell-cli-', {
    // Only the tmux server this test started, by its socket.
    beforeCleanup: async () => {
      if (tmuxSocket !== undefined) await run('tmux', ['-S', tmuxSocket, 'kill-server']);
    },
  });
  const tmux = async (...args: string[]): Promise<string> => {
    const r = await run('tmux', ['-S', tmuxSocket, ...args]);
    assert.equal(r.code, 0, `tmux ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  /** Polls the screen (tmux has no event for "this text appeared") until `re` matches. */
  const screenShows = async (re: RegExp, timeoutMs = 10_000): Promise<string> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const screen = await tmux('capture-pane', '-p', '-t', 'sh');
      if (re.test(screen)) return screen;
      if (Date.now() > deadline) assert.fail(`the screen never showed ${re}:\n${screen}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  before(async () => {
    tmuxSocket = join(fx.d.dir, 'tmux.sock');
    await fx.shed.sandboxes.create({ image: 'default', name: 'tty' });
  });

  it('types into a remote shell, follows window resizes and exits with its code', async () => {
    const exitFile = join(fx.d.dir, 'cli-exit');
    const env = Object.entries(fx.d.env).map(([k, v]) => `${k}=${quote(v)}`).join(' ');
    const cli = `env ${env} ${quote(process.execPath)} ${quote(CLI)} shell tty`;
    // The pane's command records the CLI's status, then tells the test it finished.
    const script = `${cli}; echo $? > ${quote(exitFile)}; tmux -S ${quote(tmuxSocket)} wait-for -S cli-done`;
    await tmux('new-session', '-d', '-s', 'sh', '-x', '100', '-y', '30', script);
    await screenShows(/^\/ #/m);
    await tmux('send-keys', '-t', 'sh', 'echo hi-$((1+2))', 'Enter');
    await screenShows(/^hi-3\s*$/m);
    await tmux('send-keys', '-t', 'sh', 'stty size', 'Enter');
    await screenShows(/^30 100\s*$/m);
    await tmux('resize-window', '-t', 'sh', '-x', '120', '-y', '40');
    // The new size travels tmux → pty → SIGWINCH → shed → shedd → agent; ask until it arrived.
    const deadline = Date.now() + 10_000;
    for (let shown = false; !shown;) {
      await tmux('send-keys', '-t', 'sh', 'stty size', 'Enter');
      shown = await screenShows(/^40 120\s*$/m, 500).then(() => true, () => false);
      assert.ok(shown || Date.now() < deadline, 'the remote terminal never saw 40 rows x 120 columns');
    }
    const finished = tmux('wait-for', 'cli-done');
    await tmux('send-keys', '-t', 'sh', 'exit 7', 'Enter');
    await finished;
    assert.equal((await readFile(exitFile, 'utf8')).trim(), '7');
  });

  it('runs on pipes when stdin is not a terminal, with the exit code', async () => {
    const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...fx.d.env };
    const r = await run(process.execPath, [CLI, 'shell', 'tty'], 'echo piped-$((2+3))\nexit 4\n', env);
    assert.deepEqual(r, { code: 4, stdout: 'piped-5\n', stderr: '' });
    const cmd = await run(process.execPath, [CLI, 'shell', 'tty', '--', 'sh', '-c', 'cat; exit 5'], 'through\n', env);
    assert.deepEqual(cmd, { code: 5, stdout: 'through\n', stderr: '' });
    // --attach picks up a process a lost connection left behind, from an offset.
    const t = await (await fx.shed.sandboxes.get('tty')).shell({ cmd: ['sh', '-c', 'echo one; read x; echo "two-$x"'] });
    for await (const chunk of t) if (chunk.toString().includes('one')) break;
    const attached = await run(process.execPath, [CLI, 'shell', '--attach', String(t.procId), '--offset', String(t.offset), 'tty'], 'z\n', env);
    assert.equal(attached.code, 0, attached.stderr);
    assert.equal(attached.stdout.replace(/\r/g, ''), 'z\ntwo-z\n', 'the pty echo of the input, then the output; nothing before the offset');
    const missing = await run(process.execPath, [CLI, 'shell', 'nope'], '', env);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /not_found/);
  });
});
