// Isolation of container sandboxes, checked from inside (through the agent) and from the host:
// processes, files, ids, memory and pids limits, the agent's socket directory, seccomp,
// capabilities, /sys and the network. Runs with every runtime installed.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, readdir, lstat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ContainerDriver, parseContainerHandles, type RunningSandbox } from '@shed/server';
import { AGENT_PATH, sandboxEnv, type SandboxEnv } from '../conformance/env.js';
import { containerTarget, type RuntimeUnderTest } from '../conformance/container-target.js';
import { assertNoLeaks, cleanupTempDirs } from '../helpers/leaks.js';

const PROBE_SOURCE = fileURLToPath(new URL('../../../test/security/syscall-probe.c', import.meta.url));
const EPERM = 1;
const ENOSYS = 38;

/** The default capability set as a CapEff mask (bit numbers from linux/capability.h). */
const DEFAULT_CAPS_MASK = [0, 1, 3, 4, 5, 6, 7, 8, 10, 13, 18, 27, 29, 31].reduce((m, bit) => m | (1n << BigInt(bit)), 0n);

async function sh(sb: RunningSandbox, script: string, opts: { timeoutMs?: number } = {}) {
  const r = await sb.agent.run(['sh', '-c', script], opts);
  return { out: r.stdout.toString(), err: r.stderr.toString(), code: r.exitCode, signal: r.signal, timedOut: r.timedOut };
}

/** Path, type, mode, owner, size and mtime of every entry under `dir`: changes if anything is written. */
async function manifest(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const name of (await readdir(d)).sort()) {
      const p = join(d, name);
      const st = await lstat(p);
      out.push(`${p.slice(dir.length)} ${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.size} ${st.mtimeMs}`);
      if (st.isDirectory()) await walk(p);
    }
  };
  await walk(dir);
  return out;
}

async function statusField(pid: number, field: string): Promise<string> {
  const m = new RegExp(`^${field}:\\s*(.*)$`, 'm').exec(await readFile(`/proc/${pid}/status`, 'utf8'));
  return m?.[1]?.trim() ?? '';
}

function isolationSuite(runtime: RuntimeUnderTest): void {
  describe(`isolation (${runtime})`, () => {
    let env: SandboxEnv;
    let driver: ContainerDriver;
    let skip: string | undefined;
    const live = new Set<RunningSandbox>();

    before(async () => {
      const target = await containerTarget(runtime);
      if (typeof target === 'string') return void (skip = target);
      env = await sandboxEnv(`shed-iso-${runtime}-`);
      driver = new ContainerDriver({ runtime, agentPath: AGENT_PATH });
    });
    after(async () => {
      for (const sb of live) await driver.destroy(sb.handles);
      await cleanupTempDirs();
      await assertNoLeaks();
    });

    const create = async (resources = {}): Promise<RunningSandbox> => {
      const sb = await driver.create(env.spec({ resources }));
      live.add(sb);
      return sb;
    };
    const destroy = async (sb: RunningSandbox): Promise<void> => {
      await driver.destroy(sb.handles);
      live.delete(sb);
    };
    const it = (title: string, fn: () => Promise<void>): void =>
      void test(title, async (ctx) => (skip !== undefined ? ctx.skip(skip) : fn()));

    it('sees only its own processes', async () => {
      const sb = await create();
      const r = await sh(sb, 'ls /proc | grep -c "^[0-9]"; ps -o pid,args');
      const [count, ...ps] = r.out.trim().split('\n');
      assert.ok(Number(count) <= 4, `few processes visible: ${r.out}`);
      assert.match(ps.join('\n'), /^\s*1\s+\/dev\/\.shed\/agent/m, 'PID 1 is the agent');
      assert.doesNotMatch(r.out, /node|shedd|crun|runc/, 'no host process is visible');
      await destroy(sb);
    });

    it('sees only its own files', async () => {
      const sb = await create();
      const marker = `shed-host-marker-${process.pid}`;
      await writeFile(join(env.dir, marker), 'host secret');
      const r = await sh(sb, `find / -xdev -name '${marker}' 2>/dev/null; cat /etc/passwd; test -e ${env.dir} && echo host-dir-visible; true`);
      assert.equal(r.out, await readFile(join(env.rootfs, 'etc/passwd'), 'utf8'), 'the image passwd, and no host marker or dir');
      await destroy(sb);
    });

    it('cannot change the image lower: writes land in the upper only', async () => {
      const before = await manifest(env.rootfs);
      const sb = await create();
      const r = await sh(sb, 'echo x > /bin/new && rm /bin/ls && echo y >> /etc/passwd && chmod 777 /etc && touch /bin/busybox && rm -rf /usr && echo done');
      assert.equal(r.out, 'done\n', r.err);
      assert.deepEqual(await manifest(env.rootfs), before, 'the image rootfs is byte-for-byte unchanged');
      const upper = join(parseContainerHandles(sb.handles).data.stateDir, 'upper');
      assert.equal((await readFile(join(upper, 'bin/new'))).toString(), 'x\n', 'the write went to the upper');
      await destroy(sb);
    });

    it('root inside is an unprivileged uid on the host', async () => {
      const sb = await create();
      const { initPid, cgroupDirs } = parseContainerHandles(sb.handles).data;
      const sleeper = sb.agent.exec({ argv: ['sleep', '30'] });
      await sleeper.started;
      assert.equal((await sh(sb, 'id -u')).out, '0\n', 'root inside');
      const pids = (await readFile(join(cgroupDirs.find((d) => d.includes('/pids/')) ?? cgroupDirs[0] ?? '', 'cgroup.procs'), 'utf8')).trim().split('\n').map(Number);
      assert.ok(pids.includes(initPid) && pids.length >= 2);
      for (const pid of pids) {
        const uid = await statusField(pid, 'Uid').catch(() => 'gone');
        if (uid === 'gone') continue;
        assert.equal(uid, '100000\t100000\t100000\t100000', `pid ${pid} runs as the mapped uid`);
        assert.equal(await statusField(pid, 'Gid'), '100000\t100000\t100000\t100000');
      }
      sleeper.signal('SIGKILL');
      await destroy(sb);
    });

    it('a process allocating past the memory limit dies inside; the agent and host survive', async () => {
      const sb = await create({ memoryMiB: 64 });
      const dirs = parseContainerHandles(sb.handles).data.cgroupDirs;
      const mem = dirs.find((d) => d.includes('/memory/'));
      if (mem !== undefined) {
        assert.equal((await readFile(join(mem, 'memory.limit_in_bytes'), 'utf8')).trim(), String(64 * 1024 * 1024));
        assert.equal((await readFile(join(mem, 'memory.memsw.limit_in_bytes'), 'utf8')).trim(), String(64 * 1024 * 1024), 'no swap');
      }
      const r = await sh(sb, 'dd if=/dev/zero of=/dev/null bs=200M count=1');
      assert.equal(r.signal, 'SIGKILL', `the allocator was OOM-killed: ${JSON.stringify(r)}`);
      if (mem !== undefined) assert.match(await readFile(join(mem, 'memory.oom_control'), 'utf8'), /oom_kill [1-9]/);
      assert.ok((await sb.agent.ping()) >= 0, 'the agent survived');
      assert.equal((await sh(sb, 'echo alive')).out, 'alive\n');
      assert.equal(await driver.isAlive(sb.handles), true);
      await destroy(sb);
    });

    it('a fork bomb is stopped by the pids limit; the sandbox stays usable and destroyable', async () => {
      const sb = await create({ pidsMax: 32 });
      const pidsDir = parseContainerHandles(sb.handles).data.cgroupDirs.find((d) => d.includes('/pids/'));
      if (pidsDir !== undefined) assert.equal((await readFile(join(pidsDir, 'pids.max'), 'utf8')).trim(), '32');
      const r = await sh(sb, 'while :; do sleep 60 & done', { timeoutMs: 1500 });
      assert.equal(r.timedOut, true);
      assert.match(r.err, /can't fork|Resource temporarily unavailable|fork/i, 'forks were refused');
      if (pidsDir !== undefined) assert.match(await readFile(join(pidsDir, 'pids.events'), 'utf8'), /max [1-9]/);
      // The bomb's group was killed on timeout; the pids come back as the kernel reaps them.
      let ok = '';
      for (let i = 0; i < 50 && ok !== 'ok\n'; i++) {
        ok = (await sh(sb, 'echo ok').catch(() => ({ out: '' }))).out;
        if (ok !== 'ok\n') await sleep(50);
      }
      assert.equal(ok, 'ok\n', 'the sandbox is usable again');
      await destroy(sb);
    });

    it('the agent socket directory and binary are read-only inside', async () => {
      const sb = await create();
      const r = await sh(sb, 'touch /dev/.shed/run/x; rm -f /dev/.shed/run/agent.sock; echo > /dev/.shed/agent; ls /dev/.shed/run');
      assert.equal(r.out, 'agent.sock\n');
      assert.equal(r.err.match(/Read-only file system/g)?.length, 3, r.err);
      const socketDir = join(parseContainerHandles(sb.handles).data.runDir, 'agent');
      assert.deepEqual(await readdir(socketDir), ['agent.sock']);
      assert.ok((await sb.agent.ping()) >= 0, 'the link still works');
      await destroy(sb);
    });

    it('seccomp denies the dangerous syscalls and allows ordinary ones', async () => {
      const probe = join(env.dir, 'syscall-probe');
      await promisify(execFile)('musl-gcc', ['-static', '-O2', '-o', probe, PROBE_SOURCE]);
      const sb = await create();
      await sb.agent.writeFile('/probe', await readFile(probe), { mode: 0o755 });
      const r = await sb.agent.run(['/probe', 'getpid', 'keyctl', 'bpf', 'perf_event_open', 'userfaultfd', 'unshare_user', 'clone3']);
      const got = Object.fromEntries(r.stdout.toString().trim().split('\n').map((l) => l.split(' ')));
      assert.deepEqual(got, {
        getpid: 'ok',
        keyctl: `errno=${EPERM}`,
        bpf: `errno=${EPERM}`,
        perf_event_open: `errno=${EPERM}`,
        userfaultfd: `errno=${EPERM}`,
        unshare_user: `errno=${EPERM}`,
        clone3: `errno=${ENOSYS}`,
      });
      await destroy(sb);
    });

    it('has exactly the default capabilities and no_new_privs', async () => {
      const sb = await create();
      const r = await sh(sb, 'grep -E "^(CapEff|CapPrm|CapBnd|CapInh|CapAmb|NoNewPrivs):" /proc/self/status');
      const f = Object.fromEntries(r.out.trim().split('\n').map((l) => l.split(/:\s+/)));
      const hex = (v: bigint): string => v.toString(16).padStart(16, '0');
      assert.equal(f.CapEff, hex(DEFAULT_CAPS_MASK));
      assert.equal(f.CapPrm, hex(DEFAULT_CAPS_MASK));
      assert.equal(f.CapBnd, hex(DEFAULT_CAPS_MASK));
      assert.equal(f.CapInh, hex(0n));
      assert.equal(f.CapAmb, hex(0n));
      assert.equal(f.NoNewPrivs, '1');
      await destroy(sb);
    });

    it('/sys is read-only and sensitive /proc paths are masked or read-only', async () => {
      const sb = await create();
      const r = await sh(sb, [
        'grep " /sys " /proc/mounts',
        '(touch /sys/kernel/x) 2>&1',
        '(echo 3 > /proc/sys/vm/drop_caches) 2>&1',
        // Masked paths that exist on this kernel read as empty.
        'for f in /proc/kcore /proc/keys /proc/timer_list; do test -e $f && echo "$f $(wc -c < $f)"; done',
      ].join('; '));
      const lines = r.out.trim().split('\n');
      assert.match(lines[0] ?? '', /^sysfs \/sys sysfs ro[,\s]/);
      assert.match(lines[1] ?? '', /Read-only file system/);
      assert.match(lines[2] ?? '', /Read-only file system/);
      const masked = lines.slice(3);
      assert.ok(masked.length > 0, 'some masked path exists to check');
      for (const l of masked) assert.match(l, / 0$/, `${l.split(' ')[0] ?? ''} reads as empty`);
      await destroy(sb);
    });

    it("network 'none' has only loopback", async () => {
      const sb = await create();
      const r = await sh(sb, "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '");
      assert.equal(r.out, 'lo\n');
      await destroy(sb);
    });
  });
}

isolationSuite('crun');
isolationSuite('runc');
