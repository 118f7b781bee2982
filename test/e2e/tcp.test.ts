// shedd's settings end to end: a real shedd started from a TOML file with a group-owned
// socket and a TCP listener on loopback, used by the SDK and the CLI with the right, a wrong
// and no bearer token; the token never reaches the log; bad settings stop shedd at start.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Shed, ShedApiError } from '@shed/sdk';
import { freePort } from '../helpers/free-port.js';
import { useLeakCheck } from '../helpers/leaks.js';
import { CLI, SHEDD, daemonDirs, e2eUnavailable, startShedd, type DaemonDirs, type Shedd } from './shedd.js';

const skip = await e2eUnavailable();
if (skip !== undefined) console.log(`# e2e tcp/config tests skipped: ${skip}`);
useLeakCheck();

const TOKEN = 'e2e-right-token-5f0c1a7d9b3e42c8a6f1';
const WRONG = 'e2e-wrong-token-00000000000000000000';
/** gid 1 is `daemon` on Debian; any existing group shows the chown. */
const GROUP = 'daemon';

function cli(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { PATH: process.env['PATH'] ?? '', ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
    });
  });
}

/** A raw GET over TCP, to check the exact error body and status the SDK maps from. */
function rawGet(url: string, auth: string | undefined, more: Record<string, string> = {}): Promise<{ status: number; body: string; wwwAuth: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { ...more, ...(auth === undefined ? {} : { authorization: auth }) } }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => {
        const h = res.headers['www-authenticate'];
        resolve({ status: res.statusCode ?? 0, body, wwwAuth: typeof h === 'string' ? h : undefined });
      });
    });
    req.on('error', reject).end();
  });
}

describe('e2e: config file, socket group, TCP listener with a bearer token', { skip }, () => {
  let dirs: DaemonDirs;
  let d: Shedd;
  let url: string;

  before(async () => {
    dirs = await daemonDirs('shed-e2e-tcp-');
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    const tokenFile = join(dirs.dir, 'token');
    await writeFile(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    const config = join(dirs.dir, 'shedd.toml');
    // Only the file sets these: the start's own flags set the directories.
    await writeFile(config, `logLevel = "debug"\nsocketGroup = "${GROUP}"\ntcp = "127.0.0.1:${port}"\ntokenFile = "${tokenFile}"\n`);
    d = await startShedd(dirs, { args: ['--config', config] });
  });

  after(async () => {
    await d.stop();
  });

  it('makes the socket 0660 and gives it to the group', async () => {
    const st = await stat(d.socketPath);
    assert.equal(st.mode & 0o777, 0o660);
    assert.equal(st.gid, 1);
  });

  it('serves the SDK over TCP with the right token: a sandbox runs a command', async () => {
    const shed = await Shed.connect({ url, token: TOKEN });
    try {
      assert.equal(shed.url, url);
      assert.equal((await shed.health()).status, 'ok');
      const sb = await shed.sandboxes.create({});
      try {
        assert.equal((await sb.exec(['echo', 'over tcp'])).stdout, 'over tcp\n');
        // A terminal is a WebSocket upgrade: the token goes in the upgrade request.
        const t = await sb.shell({ cmd: ['sh', '-c', '[ -t 0 ] && echo tty over tcp'] });
        let text = '';
        for await (const chunk of t) text += chunk.toString('utf8');
        assert.equal(text.replace(/\r/g, ''), 'tty over tcp\n');
        assert.equal((await t.wait()).exitCode, 0);
      } finally {
        await sb.delete();
      }
    } finally {
      shed.close();
    }
  });

  it('takes the URL and token from $SHED_HOST and $SHED_TOKEN', async () => {
    const saved = { host: process.env['SHED_HOST'], token: process.env['SHED_TOKEN'] };
    process.env['SHED_HOST'] = url.replace('http://', '');
    process.env['SHED_TOKEN'] = TOKEN;
    try {
      const shed = await Shed.connect();
      assert.equal(shed.url, url);
      shed.close();
    } finally {
      for (const [k, v] of [['SHED_HOST', saved.host], ['SHED_TOKEN', saved.token]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });

  it('refuses a wrong or missing token with 401 unauthenticated', async () => {
    for (const token of [WRONG, undefined]) {
      await assert.rejects(Shed.connect({ url, token }), (err: unknown) => {
        assert.ok(err instanceof ShedApiError);
        assert.equal(err.code, 'unauthenticated');
        assert.equal(err.status, 401);
        assert.match(err.message, /Authorization: Bearer/);
        return true;
      });
    }
    const raw = await rawGet(`${url}/v1/sandboxes`, `Bearer ${WRONG}`);
    assert.equal(raw.status, 401);
    assert.equal(raw.wwwAuth, 'Bearer realm="shed"');
    assert.match(raw.body, /^\{"error":\{"code":"unauthenticated","message":"[^"]+","details":\{\}\}\}$/, 'the stable error body');
    assert.equal((await rawGet(`${url}/v1/healthz`, `Basic ${TOKEN}`)).status, 401, 'only the Bearer scheme');
    const upgrade = await rawGet(`${url}/v1/sandboxes/x/shell`, `Bearer ${WRONG}`, { connection: 'upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' });
    assert.equal(upgrade.status, 401, 'a WebSocket upgrade with a wrong token');
    assert.match(upgrade.body, /"code":"unauthenticated"/);
  });

  it('the port proxy over TCP needs the token, and the token never reaches the sandbox', async () => {
    const shed = await Shed.connect({ url, token: TOKEN });
    const sb = await shed.sandboxes.create({});
    try {
      // Answers one request with its own request head as the body.
      const script = '#!/bin/sh\nh=""\nwhile IFS= read -r l; do l=$(printf "%s" "$l" | tr -d "\\r"); [ -z "$l" ] && break; h="$h$l\n"; done\n' +
        'printf "HTTP/1.1 200 OK\\r\\nContent-Length: %s\\r\\nConnection: close\\r\\n\\r\\n%s" "${#h}" "$h"\n';
      await sb.files.write('/head.sh', script, { mode: 0o755 });
      await sb.spawn(['busybox', 'nc', '-ll', '-p', '9000', '-e', '/head.sh']);
      const path = `${url}/v1/sandboxes/${sb.id}/ports/9000/x?y=1`;
      assert.equal((await rawGet(path, undefined)).status, 401);
      assert.equal((await rawGet(path, `Bearer ${WRONG}`)).status, 401);
      let r = await rawGet(path, `Bearer ${TOKEN}`, { 'x-other': 'kept' });
      for (let i = 0; i < 100 && r.status === 503; i++) r = await rawGet(path, `Bearer ${TOKEN}`, { 'x-other': 'kept' }); // nc starting
      assert.equal(r.status, 200, r.body);
      assert.match(r.body, /^GET \/x\?y=1 HTTP\/1\.1\n/);
      assert.match(r.body, /x-other: kept/i);
      assert.doesNotMatch(r.body, /authorization|e2e-right-token/i);
    } finally {
      await sb.delete();
      shed.close();
    }
  });

  it('keeps the unix socket free of tokens', async () => {
    const shed = await Shed.connect({ socketPath: d.socketPath });
    assert.equal((await shed.health()).status, 'ok');
    shed.close();
  });

  it('serves the CLI over TCP (--host, $SHED_HOST) and refuses it a wrong token', async () => {
    const ok = await cli(['--host', url, '--json', 'ls'], { SHED_TOKEN: TOKEN });
    assert.equal(ok.code, 0, ok.stderr);
    assert.ok(Array.isArray(JSON.parse(ok.stdout)));
    const run = await cli(['run', '--rm', 'default', '--', 'echo', 'cli over tcp'], { SHED_HOST: url, SHED_TOKEN: TOKEN });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'cli over tcp\n');
    const bad = await cli(['--host', url, 'ls'], { SHED_TOKEN: WRONG });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /\(unauthenticated\)/);
  });

  it('never writes a token to the log, while logging who was refused', async () => {
    const log = await readFile(d.logPath, 'utf8');
    assert.ok(!log.includes(TOKEN), 'the right token is not in the log');
    assert.ok(!log.includes(WRONG), 'a wrong token is not in the log');
    const refused = log.split('\n').filter((l) => l.includes('refused a TCP request'));
    assert.ok(refused.length > 0, 'refusals are logged');
    assert.ok(refused.every((l) => l.includes('"authorization":"[redacted]"') || !l.includes('authorization')));
    assert.ok(log.split('\n').some((l) => l.includes('"tcp request"') && l.includes('"authorization":"[redacted]"')), 'accepted requests are logged at debug, redacted');
  });
});

/** Runs shedd expecting it to refuse to start; resolves with its exit code and stderr. */
function sheddFails(args: string[], env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [SHEDD, ...args], { env: { PATH: process.env['PATH'] ?? '', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

describe('e2e: shedd refuses bad settings at start', { skip }, () => {
  let dirs: DaemonDirs;
  let base: string[];
  before(async () => {
    dirs = await daemonDirs('shed-e2e-badcfg-');
    base = ['--data-dir', dirs.dataDir, '--run-dir', dirs.runDir];
  });

  it('a token file others can read', async () => {
    const tokenFile = join(dirs.dir, 'open-token');
    await writeFile(tokenFile, TOKEN);
    await chmod(tokenFile, 0o644);
    const r = await sheddFails([...base, '--listen-tcp', '127.0.0.1:1', '--token-file', tokenFile], {});
    assert.equal(r.code, 1);
    assert.match(r.stderr, /has mode 0644; it must be 0600 \(chmod 600 .*\).*failed_precondition/);
  });

  it('a TCP listener without a token', async () => {
    const r = await sheddFails([...base, '--listen-tcp', '127.0.0.1:1'], {});
    assert.equal(r.code, 1);
    assert.match(r.stderr, /a TCP listener needs a bearer token/);
  });

  it('a missing explicit config file, an unknown key, a bad value', async () => {
    const missing = await sheddFails([...base, '--config', join(dirs.dir, 'nope.toml')], {});
    assert.match(missing.stderr, /cannot read the config file .*nope\.toml.*invalid_argument/);
    const file = join(dirs.dir, 'bad.toml');
    await writeFile(file, 'dataDir = "/x"\nlisten = "127.0.0.1:7420"\n');
    assert.match((await sheddFails([...base], { SHED_CONFIG: file })).stderr, /unknown key 'listen'.*\(invalid_argument\)/);
    await writeFile(file, '[container]\nruntime = 3\n');
    assert.match((await sheddFails([...base, '--config', file], {})).stderr, /key 'container\.runtime': expected one of auto, crun, runc, runsc, got 3/);
  });

  it('a socket group that does not exist', async () => {
    const r = await sheddFails([...base, '--socket-group', 'no-such-group-x'], {});
    assert.match(r.stderr, /no group named 'no-such-group-x'/);
  });
});
