// `shed doctor` against this real host: shedd runs the checks; the test derives what some
// of them must say on its own (criu check's exit code, /dev/kvm and its module, nft,
// skopeo) and compares, through the SDK and the CLI (table, --json, exit code).
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { before, describe, it } from 'node:test';
import { type DoctorCheck, type DoctorResponse } from '@shed/sdk';
import { useLeakCheck } from '../helpers/leaks.js';
import { CLI, daemonDirs, e2eUnavailable, startShedd, useShedd } from './shedd.js';

const skip = await e2eUnavailable();
if (skip !== undefined) console.log(`# e2e doctor tests skipped: ${skip}`);
useLeakCheck();

/** The exit code of a host tool, or null when it is not installed. */
function exitOf(file: string, args: string[]): number | null {
  const r = spawnSync(file, args, { stdio: 'ignore', timeout: 30_000 });
  return r.error !== undefined ? null : r.status;
}

describe('e2e: shed doctor on this host', { skip }, () => {
  const fx = useShedd('shed-e2e-doctor-');
  let report: DoctorResponse;
  const check = (name: string): DoctorCheck => {
    const c = report.checks.find((x) => x.name === name);
    assert.ok(c !== undefined, `a '${name}' check`);
    return c;
  };

  before(async () => {
    report = await fx.shed.doctor();
  });

  it('reports every check with a status, a detail and a fix for each non-ok one', () => {
    assert.deepEqual(report.checks.map((c) => c.name),
      ['runtime', 'cgroups', 'cgroup-hybrid', 'user-namespaces', 'overlayfs', 'nftables', 'kvm', 'criu', 'memory-snapshots', 'skopeo',
        'ip-forwarding', 'network-bridge', 'unshare']);
    for (const c of report.checks) {
      assert.ok(c.detail.length > 0, c.name);
      assert.equal(c.fix === null, c.status === 'ok', `${c.name}: a fix exactly when not ok`);
    }
    assert.equal(report.ok, report.checks.every((c) => c.status !== 'fail'));
  });

  it('agrees with the driver probe about the runtime, and overlayfs and user namespaces work here', async () => {
    const usable = (await fx.shed.health()).driver.usable;
    assert.equal(check('runtime').status, usable ? 'ok' : 'fail');
    assert.equal(check('overlayfs').status, 'ok');
    assert.equal(check('user-namespaces').status === 'fail', false);
  });

  it("reports IPv4 forwarding as /proc says, and unshare (network 'nat' needs both) as installed here", async () => {
    const forwarding = (await readFile('/proc/sys/net/ipv4/ip_forward', 'utf8')).trim();
    assert.equal(check('ip-forwarding').status, forwarding === '1' ? 'ok' : 'warn');
    assert.equal(check('unshare').status, 'ok');
  });

  it("reports criu as an optional capability: ok exactly when `criu check` exits 0, else a warning", () => {
    const code = exitOf('criu', ['check']);
    const c = check('criu');
    assert.equal(c.status, code === 0 ? 'ok' : 'warn');
    if (code !== 0) assert.match(c.detail, /optional capability absent/);
  });

  it('reports the memory-snapshots capability: absent, with why (criu check, the runtime) and how to fix it', () => {
    const c = check('memory-snapshots');
    assert.equal(c.status, 'warn', 'shed drives no checkpoint yet, so it is absent on every host');
    assert.match(c.detail, /^memory snapshots: absent: /);
    if (exitOf('criu', ['check']) !== 0) assert.match(c.detail, /criu check' failed/, 'the criu check failure is the reason here');
    assert.match(c.fix ?? '', /criu check/);
  });

  it('reports KVM honestly: absent, PVM-backed, or hardware', () => {
    const c = check('kvm');
    if (!existsSync('/dev/kvm')) {
      assert.equal(c.status, 'warn');
      assert.match(c.detail, /no \/dev\/kvm.*TCG/);
    } else if (existsSync('/sys/module/kvm_pvm')) {
      assert.equal(c.status, 'warn');
      assert.match(c.detail, /backed by PVM.*TCG/);
    } else {
      assert.notEqual(c.status, 'fail');
    }
  });

  it('agrees with nft and skopeo run here', () => {
    assert.equal(check('nftables').status, exitOf('nft', ['list', 'tables']) === 0 ? 'ok' : 'warn');
    assert.equal(check('skopeo').status, exitOf('skopeo', ['--version']) === 0 ? 'ok' : 'warn');
  });

  it('names the cgroup mode', () => {
    assert.match(check('cgroups').detail, /^(v2|hybrid|v1)\b/);
  });

  it('prints a table, or JSON with --json, and exits 1 exactly when a check fails', async () => {
    const run = (args: string[]): Promise<{ code: number; stdout: string }> => new Promise((resolve) => {
      execFile(process.execPath, [CLI, '--socket', fx.d.socketPath, ...args], { timeout: 120_000 }, (err, stdout) => {
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout });
      });
    });
    const table = await run(['doctor']);
    assert.equal(table.code, report.ok ? 0 : 1);
    assert.match(table.stdout, /^CHECK +STATUS +DETAIL\n/);
    for (const c of report.checks) assert.match(table.stdout, new RegExp(`^${c.name} +${c.status} `, 'm'));
    for (const c of report.checks.filter((x) => x.fix !== null)) assert.ok(table.stdout.includes(`fix: ${c.fix ?? ''}`), c.name);
    const json = await run(['--json', 'doctor']);
    assert.equal(json.code, table.code);
    const parsed: unknown = JSON.parse(json.stdout);
    assert.deepEqual((parsed as DoctorResponse).checks.map((c) => [c.name, c.status]), report.checks.map((c) => [c.name, c.status])); // shape: the SDK's own report, compared field by field
  });
});

describe('e2e: shed doctor when a check fails', { skip }, () => {
  it('exits 1 and says how to fix a runtime that is not installed', async (t) => {
    if (exitOf('runsc', ['--version']) !== null) return t.skip('runsc is installed here; this test needs a runtime that is not');
    // An explicit runtime that is missing makes the driver unusable: a real failing check.
    const d = await startShedd(await daemonDirs('shed-e2e-doctor-fail-'), { args: ['--runtime', 'runsc'] });
    try {
      const r = await new Promise<{ code: number; stdout: string }>((resolve) => {
        execFile(process.execPath, [CLI, '--socket', d.socketPath, 'doctor'], { timeout: 120_000 }, (err, stdout) => {
          resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout });
        });
      });
      assert.equal(r.code, 1);
      assert.match(r.stdout, /^runtime +fail +.*runsc: not installed/m);
      assert.match(r.stdout, /fix: install crun or runc/);
    } finally {
      await d.stop();
    }
  });
});
