import { strict as assert } from 'node:assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ShedError } from '../core/errors.js';
import { loadConfig, parseTcp } from './config.js';

let dir: string;
let missing: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shed-config-test-'));
  missing = join(dir, 'absent.toml');
});
after(() => rm(dir, { recursive: true, force: true }));

/** Loads with `toml` as an explicit config file (or the missing default file when undefined). */
async function load(toml: string | undefined, argv: string[] = [], env: NodeJS.ProcessEnv = {}) {
  if (toml === undefined) return loadConfig(argv, env, missing);
  const path = join(dir, `c${Math.random().toString(36).slice(2)}.toml`);
  await writeFile(path, toml);
  return loadConfig(['--config', path, ...argv], env, missing);
}

/** Asserts an invalid_argument whose message matches every pattern. */
async function rejects(p: Promise<unknown>, ...patterns: RegExp[]): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof ShedError, String(err));
    assert.equal(err.code, 'invalid_argument', err.message);
    for (const re of patterns) assert.match(err.message, re);
    return true;
  });
}

describe('daemon config: sources and precedence', () => {
  it('uses the defaults when the default file is missing', async () => {
    const c = await load(undefined);
    assert.equal(c.configPath, undefined);
    assert.equal(c.dataDir, '/var/lib/shed');
    assert.equal(c.runDir, '/run/shed');
    assert.equal(c.socketPath, '/run/shed/shed.sock');
    assert.equal(c.socketMode, 0o600);
    assert.equal(c.socketGroup, undefined);
    assert.equal(c.logLevel, 'info');
    assert.equal(c.tcp, undefined);
    assert.equal(c.token, undefined);
    assert.deepEqual(c.container, {});
    assert.deepEqual(c.images, {});
    assert.deepEqual(c.idMap, { hostId: 100_000, size: 65_536 });
  });

  it('reads every key of a file', async () => {
    const c = await load([
      'dataDir = "/d"', 'runDir = "/r"', 'logLevel = "debug"', 'socketGroup = 1234', 'tcp = "[::1]:7420"', 'tokenFile = "/t"',
      '[container]', 'runtime = "runc"', 'runtimePath = "/usr/sbin/runc"', 'fixHybridCgroups = false', 'readyTimeoutMs = 2000',
      '[images]', 'maxCacheBytes = 1073741824', 'pruneGraceMs = 0', 'debianMirror = "http://mirror.example/debian"',
      '[idMap]', 'hostId = 200000', 'size = 65536',
    ].join('\n'));
    assert.deepEqual(c.images, { maxCacheBytes: 1_073_741_824, pruneGraceMs: 0, debianMirror: 'http://mirror.example/debian' });
    assert.equal(c.dataDir, '/d');
    assert.equal(c.socketPath, '/r/shed.sock');
    assert.equal(c.logLevel, 'debug');
    assert.equal(c.socketGroup, 1234);
    assert.equal(c.socketMode, 0o660, 'a group opens the socket to it');
    assert.deepEqual(c.tcp, { host: '::1', port: 7420 });
    assert.deepEqual(c.token, { file: '/t' });
    assert.deepEqual(c.container, { runtime: 'runc', runtimePath: '/usr/sbin/runc', fixHybridCgroups: false, readyTimeoutMs: 2000 });
    assert.deepEqual(c.idMap, { hostId: 200_000, size: 65_536 });
  });

  it('flags beat the environment, which beats the file', async () => {
    const toml = 'logLevel = "warn"\nsocket = "/file.sock"\ndataDir = "/file"\n[container]\nruntime = "crun"\nruntimePath = "/x/crun"';
    const env = { SHED_LOG_LEVEL: 'error', SHED_SOCKET: '/env.sock', SHED_RUNTIME: 'runc' };
    const c = await load(toml, ['--log-level', 'debug'], env);
    assert.equal(c.logLevel, 'debug');
    assert.equal(c.socketPath, '/env.sock');
    assert.equal(c.dataDir, '/file');
    assert.deepEqual(c.container, { runtime: 'runc', runtimePath: '/x/crun' }, 'section keys merge one by one');
  });

  it('converts flag and environment strings: octal modes, numeric groups, tcp', async () => {
    const c = await load(undefined, ['--socket-mode', '0640', '--listen-tcp', '127.0.0.1:7420'], { SHED_SOCKET_GROUP: '42' });
    assert.equal(c.socketMode, 0o640);
    assert.equal(c.socketGroup, 42);
    assert.deepEqual(c.tcp, { host: '127.0.0.1', port: 7420 });
    assert.equal((await load(undefined, [], { SHED_SOCKET_GROUP: 'shed', SHED_SOCKET_MODE: '0o660' })).socketGroup, 'shed');
  });

  it('reads the file named by $SHED_CONFIG', async () => {
    const path = join(dir, 'env.toml');
    await writeFile(path, 'dataDir = "/from-env-file"');
    assert.equal((await loadConfig([], { SHED_CONFIG: path }, missing)).dataDir, '/from-env-file');
  });

  it('takes the token from --token-file, then $SHED_TOKEN, then the file', async () => {
    assert.deepEqual((await load('tokenFile = "/f"', ['--token-file', '/flag'], { SHED_TOKEN: 'x' })).token, { file: '/flag' });
    assert.deepEqual((await load('tokenFile = "/f"', [], { SHED_TOKEN: 'x' })).token, { env: 'SHED_TOKEN' });
    assert.deepEqual((await load('tokenFile = "/f"')).token, { file: '/f' });
  });
});

describe('daemon config: rejections', () => {
  it('a missing explicit file, by flag or environment', async () => {
    await rejects(loadConfig(['--config', missing], {}, missing), /cannot read the config file/, /absent\.toml/);
    await rejects(loadConfig([], { SHED_CONFIG: missing }, missing), /cannot read the config file/);
  });

  it('TOML syntax errors, with the line', async () => {
    await rejects(load('dataDir = "/x"\nsocket = '), /not valid TOML at line 2/);
  });

  it('unknown keys, named, at the top and in sections', async () => {
    await rejects(load('dataDir = "/x"\ndatadir = "/y"'), /unknown key 'datadir'/);
    await rejects(load('[container]\nruntim = "crun"'), /unknown key 'container\.runtim'/);
    await rejects(load('[network]\nmode = "nat"'), /unknown key 'network.mode'/);
    await rejects(load('[network]\nsubnet = "10.88.0.0"'), /network.subnet/);
  });

  it('warm pools: [pools.NAME] tables checked by the API\'s rules', async () => {
    const c = await load('[pools.py]\nimage = "default"\nmemoryMiB = 256\ntargetFree = 2');
    assert.deepEqual(c.pools.map((p) => [p.name, p.profile.memoryMiB, p.targetFree, p.max, p.memoryBudgetMiB]), [['py', 256, 2, 4, 1024]]);
    assert.deepEqual((await load('dataDir = "/x"')).pools, []);
    await rejects(load('[pools.py]\nimage = "default"\nsize = 3'), /unknown key 'pools\.py\.size'/);
    await rejects(load('[pools.py]\nimage = "default"\nmin = 3\nmax = 2'), /\[pools\.py\]: min \(3\) is more than max \(2\)/);
    await rejects(load('[pools.py]\nimage = "default"\nmin = 2\nmemoryMiB = 256\nmemoryBudgetMiB = 100'), /\[pools\.py\]: memoryBudgetMiB 100 is too small/);
    await rejects(load('[pools.py]\nmemoryMiB = 256'), /exactly one of image and snapshot/);
  });

  it('wrong types, named with what was expected', async () => {
    await rejects(load('dataDir = 5'), /key 'dataDir': expected an absolute path, got 5/);
    await rejects(load('socketMode = "0660"'), /key 'socketMode'/);
    await rejects(load('[container]\nfixHybridCgroups = "yes"'), /key 'container\.fixHybridCgroups': expected boolean/);
    await rejects(load('[container]\nreadyTimeoutMs = 1.5'), /key 'container\.readyTimeoutMs'/);
    await rejects(load('container = "crun"'), /key 'container'/);
    await rejects(load('dataDir = 1979-05-27'), /key 'dataDir'.*a date/);
  });

  it('values out of their set or range', async () => {
    await rejects(load('logLevel = "loud"'), /key 'logLevel': expected one of fatal, error, warn, info, debug, trace, silent, got 'loud'/);
    await rejects(load('[container]\nruntime = "docker"'), /key 'container\.runtime': expected one of auto, crun, runc, runsc/);
    await rejects(load('dataDir = "relative/dir"'), /key 'dataDir': expected an absolute path/);
    await rejects(load('socketMode = 0o666'), /key 'socketMode': expected an octal mode: 0o600, 0o620, 0o640 or 0o660 \(nothing for others\), got 0o666/);
    await rejects(load('socketMode = 0o400'), /key 'socketMode'/);
    await rejects(load('socketGroup = "Bad Group"'), /key 'socketGroup': expected a group name or a numeric gid/);
    await rejects(load('socketGroup = -1'), /key 'socketGroup'/);
    await rejects(load('[idMap]\nhostId = 1000\nsize = 65536'), /key 'idMap\.hostId'/);
    await rejects(load('[idMap]\nhostId = 100000'), /key 'idMap\.size'/);
    await rejects(load('[images]\nmaxCacheBytes = -1'), /key 'images\.maxCacheBytes'/);
    await rejects(load('[images]\ndebianMirror = "ftp://x"'), /key 'images\.debianMirror': expected an http\(s\) URL/);
    await rejects(load('[images]\nmaxBytes = 1'), /unknown key 'images\.maxBytes'/);
    await rejects(load('tcp = "7420"'), /is not HOST:PORT/);
    await rejects(load('tcp = "127.0.0.1:70000"'), /is not HOST:PORT/);
  });

  it('bad flags and environment variables, named as such', async () => {
    await rejects(load(undefined, ['--log-level', 'loud']), /command line: --log-level: expected one of/);
    await rejects(load(undefined, [], { SHED_LOG_LEVEL: 'loud' }), /environment: \$SHED_LOG_LEVEL: expected one of/);
    await rejects(load(undefined, ['--socket-mode', 'rw']), /--socket-mode: expected an octal mode/);
    await rejects(load(undefined, [], { SHED_RUNTIME: 'docker' }), /\$SHED_RUNTIME: expected one of auto/);
    await rejects(load(undefined, ['--data-dir', 'rel']), /--data-dir: expected an absolute path/);
    await rejects(load(undefined, ['--bogus', 'x']), /Unknown option '--bogus'/, /usage: shedd/);
    await rejects(load(undefined, ['--ready-fd', 'three']), /--ready-fd must be a file descriptor number/);
  });

  it('parses IPv4, IPv6 and host names in tcp', () => {
    assert.deepEqual(parseTcp('localhost:1'), { host: 'localhost', port: 1 });
    assert.deepEqual(parseTcp('[::1]:65535'), { host: '::1', port: 65_535 });
    assert.throws(() => parseTcp('::1:7420'), /HOST:PORT/);
    assert.throws(() => parseTcp('127.0.0.1:0'), /HOST:PORT/);
  });
});
