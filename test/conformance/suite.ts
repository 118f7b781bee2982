// The driver conformance suite, written once over a driver factory: every Driver (the
// container driver with each runtime now, the VM driver later) runs exactly these tests.
import assert from 'node:assert/strict';
import { access } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Driver, DriverHandles, RunningSandbox } from '@shed/server';
import { findLeaks, cleanupTempDirs, assertNoLeaks } from '../helpers/leaks.js';
import { sandboxEnv, type SandboxEnv } from './env.js';

/** A driver as the suite sees it, plus the few things only its maker can do. */
export interface ConformanceTarget {
  /**
   * A new driver instance (a new one simulates a restarted daemon). `failAt` makes create fail
   * just before that step, `abortAt` aborts its signal there.
   */
  makeDriver(opts?: { failAt?: string; abortAt?: AbortController & { step: string } }): Driver & { release(h: DriverHandles): Promise<void> };
  /** The names of the create steps, for failure injection. */
  readonly createSteps: readonly string[];
  /** Kills the sandbox's init behind the driver's back. */
  killInit(handles: DriverHandles): Promise<void>;
}

const exists = (p: string): Promise<boolean> => access(p).then(() => true, () => false);

async function sh(sb: RunningSandbox, script: string): Promise<{ out: string; err: string; code: number | null }> {
  const r = await sb.agent.run(['sh', '-c', script]);
  return { out: r.stdout.toString(), err: r.stderr.toString(), code: r.exitCode };
}

/** Polls `check` until it holds, for up to 10 s (a loaded host may take a while); fails with `what`. */
async function eventually(what: string, check: () => Promise<boolean>): Promise<void> {
  for (const deadline = Date.now() + 10_000; !(await check());) {
    assert.ok(Date.now() < deadline, `${what} (waited 10 s)`);
    await sleep(20);
  }
}

/**
 * Kernel leaks only (the temp dir itself is still in use while the file runs), leaving out
 * sandboxes still alive on purpose (a failed test's, destroyed in `after`).
 */
async function kernelLeaks(live: ReadonlySet<DriverHandles>): Promise<string[]> {
  const ids = [...live].map((h) => h.id);
  return (await findLeaks())
    .filter((l) => l.kind !== 'temp dir' && !ids.some((id) => l.what.includes(id)))
    .map((l) => `${l.kind}: ${l.what}`);
}

export function driverConformance(name: string, target: () => Promise<ConformanceTarget | string>): void {
  describe(`driver conformance: ${name}`, () => {
    let t: ConformanceTarget;
    let env: SandboxEnv;
    let driver: ReturnType<ConformanceTarget['makeDriver']>;
    const live = new Set<DriverHandles>();
    let skip: string | undefined;

    before(async () => {
      const got = await target();
      if (typeof got === 'string') return void (skip = got);
      t = got;
      env = await sandboxEnv(`shed-conf-`);
      driver = t.makeDriver();
    });
    after(async () => {
      for (const h of live) await driver.destroy(h);
      await cleanupTempDirs();
      await assertNoLeaks();
    });

    const create = async (d = driver, spec = env.spec()): Promise<RunningSandbox> => {
      const sb = await d.create(spec);
      live.add(sb.handles);
      return sb;
    };
    const destroy = async (sb: RunningSandbox, d = driver): Promise<void> => {
      await d.destroy(sb.handles);
      live.delete(sb.handles);
    };
    const it = (title: string, fn: () => Promise<void>): void =>
      void test(title, async (ctx) => (skip !== undefined ? ctx.skip(skip) : fn()));

    it('create links the agent: ping and exec work', async () => {
      const sb = await create();
      assert.ok((await sb.agent.ping()) >= 0);
      assert.equal(sb.agent.ready.pid, 1, 'the agent is PID 1 of the sandbox');
      const r = await sh(sb, 'echo hello; echo oops >&2; exit 3');
      assert.deepEqual(r, { out: 'hello\n', err: 'oops\n', code: 3 });
      assert.equal(await driver.isAlive(sb.handles), true);
      await destroy(sb);
    });

    it('a second create of a running sandbox fails with already_exists and leaves it running', async () => {
      const spec = env.spec();
      const sb = await create(driver, spec);
      await assert.rejects(driver.create(spec), (e: unknown) => e instanceof Error && 'code' in e && e.code === 'already_exists');
      assert.equal(await driver.isAlive(sb.handles), true);
      assert.equal((await sb.agent.run(['echo', 'still'])).stdout.toString(), 'still\n');
      await destroy(sb);
    });

    it('creates and destroys several sandboxes concurrently', async () => {
      const sbs = await Promise.all(Array.from({ length: 4 }, () => create()));
      const outs = await Promise.all(sbs.map((sb) => sb.agent.run(['hostname'])));
      assert.deepEqual(outs.map((o) => o.stdout.toString().trim()).sort(), sbs.map((sb) => sb.handles.id).sort(), 'each answers as itself');
      await Promise.all(sbs.map((sb) => destroy(sb)));
      assert.deepEqual(await kernelLeaks(live), []);
    });

    it('files round trip through the agent', async () => {
      const sb = await create();
      const data = Buffer.from(Array.from({ length: 200_000 }, (_, i) => i % 251));
      await sb.agent.mkdir('/workspace/dir', { parents: true });
      await sb.agent.writeFile('/workspace/dir/blob', data);
      assert.deepEqual(await sb.agent.readFile('/workspace/dir/blob'), data);
      assert.equal((await sb.agent.stat('/workspace/dir/blob')).sizeBytes, data.length);
      assert.equal((await sh(sb, 'wc -c < /workspace/dir/blob')).out.trim(), String(data.length));
      await destroy(sb);
    });

    it('pause blocks progress and resume continues', async () => {
      const sb = await create();
      // Written aside and renamed: a read between `>`'s truncate and the write would see an empty file.
      const ticker = sb.agent.exec({ argv: ['sh', '-c', 'i=0; while :; do i=$((i+1)); echo $i > /tmp/n.new; mv /tmp/n.new /tmp/n; sleep 0.02; done'] });
      await ticker.started;
      await eventually('the ticker wrote /tmp/n', async () => (await sh(sb, 'test -s /tmp/n')).code === 0);
      await driver.pause(sb.handles);
      // While frozen nothing runs, the agent included: a ping cannot be answered.
      const ping = sb.agent.ping({ signal: AbortSignal.timeout(300) });
      await assert.rejects(ping);
      await driver.resume(sb.handles);
      const a = Number((await sb.agent.readFile('/tmp/n')).toString());
      await eventually(`the ticker advanced after resume (from ${a})`, async () => Number((await sb.agent.readFile('/tmp/n')).toString()) > a);
      ticker.signal('SIGKILL');
      await destroy(sb);
    });

    it('stop then start keeps the writable layer', async () => {
      const spec = env.spec();
      const sb = await create(driver, spec);
      await sb.agent.writeFile('/kept.txt', 'still here');
      await sh(sb, 'mkdir -p /etc/extra && echo x > /etc/extra/f');
      await driver.stop(sb.handles, { graceMs: 500 });
      live.delete(sb.handles);
      assert.equal(await driver.isAlive(sb.handles), false);
      assert.deepEqual(await kernelLeaks(live), [], 'stop released every kernel resource');
      const again = await create(driver, spec);
      assert.equal((await again.agent.readFile('/kept.txt')).toString(), 'still here');
      assert.equal((await sh(again, 'cat /etc/extra/f')).out, 'x\n');
      await destroy(again);
    });

    it('stop sends SIGTERM to the workload before killing it', async () => {
      const sb = await create();
      const p = sb.agent.exec({ argv: ['sh', '-c', "trap 'echo bye > /termed; exit 0' TERM; touch /trapped; while :; do sleep 0.05; done"] });
      await p.started;
      await eventually('the workload set its TERM trap', async () => (await sh(sb, 'test -e /trapped')).code === 0);
      const spec = { ...env.spec({ id: sb.handles.id }) };
      await driver.stop(sb.handles, { graceMs: 2000 });
      live.delete(sb.handles);
      const again = await create(driver, spec);
      assert.equal((await again.agent.readFile('/termed')).toString(), 'bye\n');
      await destroy(again);
    });

    it('destroy leaves nothing and is idempotent', async () => {
      const spec = env.spec();
      const sb = await create(driver, spec);
      await sb.agent.writeFile('/junk', 'x');
      await destroy(sb);
      assert.equal(await exists(spec.stateDir), false, 'state dir removed');
      assert.equal(await exists(spec.runDir), false, 'run dir removed');
      assert.equal(await driver.isAlive(sb.handles), false);
      await driver.destroy(sb.handles);
      assert.deepEqual(await kernelLeaks(live), []);
    });

    it('destroy with bare handles (the full ones lost) removes everything', async () => {
      const spec = env.spec();
      const sb = await create(driver, spec);
      await sb.agent.writeFile('/junk', 'x');
      await driver.release(sb.handles);
      const bare: DriverHandles = { driver: sb.handles.driver, id: spec.id, data: { stateDir: spec.stateDir, runDir: spec.runDir } };
      const second = t.makeDriver();
      assert.equal(await second.isAlive(bare), false, 'bare handles never claim a live sandbox');
      assert.equal(await second.adopt(bare), null);
      await second.destroy(bare);
      live.delete(sb.handles);
      assert.equal(await driver.isAlive(sb.handles), false);
      assert.equal(await exists(spec.stateDir), false);
      assert.deepEqual(await kernelLeaks(live), []);
      await second.destroy(bare);
    });

    it('adopt after a host-side restart reconnects to the same processes', async () => {
      const sb = await create();
      const sleeper = sb.agent.exec({ argv: ['sleep', '300'] });
      const started = await sleeper.started;
      const bootId = sb.agent.ready.bootId;
      // Simulate a daemon restart: drop the client and the listener, keep the sandbox.
      await driver.release(sb.handles);
      const second = t.makeDriver();
      const adopted = await second.adopt(JSON.parse(JSON.stringify(sb.handles)) as DriverHandles);
      assert.ok(adopted !== null, 'a live sandbox is adopted');
      assert.equal(adopted.agent.ready.bootId, bootId, 'the same agent (not a restarted one)');
      const ps = await adopted.agent.ps();
      assert.ok(ps.some((p) => p.procId === started.procId && p.state === 'running'), 'the workload survived');
      assert.equal((await adopted.agent.run(['echo', 'back'])).stdout.toString(), 'back\n');
      await destroy(adopted, second);
    });

    it('isAlive is false once the init is killed behind the driver; adopt then returns null', async () => {
      const sb = await create();
      await t.killInit(sb.handles);
      await eventually('isAlive turned false', async () => !(await driver.isAlive(sb.handles)));
      const verdict = await driver.liveness(sb.handles);
      assert.ok(!verdict.alive && verdict.reason.length > 0, 'liveness says why it is gone');
      assert.equal(await t.makeDriver().adopt(sb.handles), null);
      await destroy(sb);
    });

    it('liveness: alive, with its workload (processes besides PID 1) counted', async () => {
      const sb = await create();
      assert.deepEqual(await driver.liveness(sb.handles), { alive: true });
      assert.equal(await driver.workloadProcesses(sb.handles), 0, 'only PID 1 runs in a fresh sandbox');
      const bg = sb.agent.exec({ argv: ['sleep', '30'] });
      await bg.started;
      assert.equal(await driver.workloadProcesses(sb.handles), 1);
      bg.signal('SIGKILL');
      await bg.wait().catch(() => undefined);
      await destroy(sb);
    });

    it('a failure at any create step leaves nothing behind', async () => {
      for (const step of t.createSteps) {
        const failing = t.makeDriver({ failAt: step });
        const spec = env.spec();
        await assert.rejects(failing.create(spec), (err: unknown) => err instanceof Error && /injected/.test(err.message), `fails at ${step}`);
        assert.equal(await exists(spec.stateDir), false, `state dir gone after failing at ${step}`);
        assert.equal(await exists(spec.runDir), false, `run dir gone after failing at ${step}`);
        assert.deepEqual(await kernelLeaks(live), [], `nothing left after failing at ${step}`);
      }
    });

    it('an abort mid-create leaves nothing behind', async () => {
      for (const step of t.createSteps) {
        const abortAt = Object.assign(new AbortController(), { step });
        const aborting = t.makeDriver({ abortAt });
        const spec = env.spec();
        await assert.rejects(aborting.create(spec, { signal: abortAt.signal }));
        assert.equal(await exists(spec.stateDir), false, `state dir gone after abort at ${step}`);
        assert.deepEqual(await kernelLeaks(live), [], `nothing left after abort at ${step}`);
      }
    });

    it('an abort at any moment of create (timed, not at a step boundary) leaves nothing behind', async () => {
      for (const afterMs of [1, 3, 6, 10, 15, 20, 30, 45]) {
        const spec = env.spec();
        const created = await driver.create(spec, { signal: AbortSignal.timeout(afterMs) }).catch(() => null);
        if (created !== null) await driver.destroy(created.handles);
        assert.equal(await exists(spec.stateDir), false, `state dir gone (abort after ${afterMs} ms)`);
        assert.equal(await exists(spec.runDir), false, `run dir gone (abort after ${afterMs} ms)`);
        assert.deepEqual(await kernelLeaks(live), [], `nothing left (abort after ${afterMs} ms)`);
      }
    });

    it('a failed start after stop keeps the writable layer', async () => {
      const spec = env.spec();
      const sb = await create(driver, spec);
      await sb.agent.writeFile('/precious', 'data');
      await driver.stop(sb.handles, { graceMs: 0 });
      live.delete(sb.handles);
      await assert.rejects(t.makeDriver({ failAt: 'runtime' }).create(spec));
      const again = await create(driver, spec);
      assert.equal((await again.agent.readFile('/precious')).toString(), 'data');
      await destroy(again);
    });
  });
}
