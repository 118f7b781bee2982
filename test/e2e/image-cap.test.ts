// [images] maxCacheBytes end to end: a real shedd whose config caps the image cache evicts
// unused images at start, least recently used first, and leaves a used one alone.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Shed } from '@shed/sdk';
import { useLeakCheck } from '../helpers/leaks.js';
import { daemonDirs, e2eUnavailable, startShedd, type DaemonDirs, type Shedd } from './shedd.js';

const skip = await e2eUnavailable();
if (skip !== undefined) console.log(`# e2e image cap tests skipped: ${skip}`);
useLeakCheck();

describe('e2e: the image cache cap', { skip }, () => {
  let dirs: DaemonDirs;
  let d: Shedd;
  let config: string;

  before(async () => {
    dirs = await daemonDirs('shed-e2e-imgcap-');
    config = join(dirs.dir, 'shedd.toml');
    // No grace: the image just used may go at the next start.
    await writeFile(config, '[images]\nmaxCacheBytes = 0\npruneGraceMs = 0\n');
    d = await startShedd(dirs, { args: ['--config', config] });
  });

  after(async () => {
    await d.stop();
  });

  it('keeps an image a sandbox uses, and evicts it at the next start once unused', async () => {
    let shed = await Shed.connect({ socketPath: d.socketPath });
    const sb = await shed.sandboxes.create({ image: 'default' });
    shed.close();
    await d.stop();
    d = await startShedd(dirs, { args: ['--config', config] });
    shed = await Shed.connect({ socketPath: d.socketPath });
    assert.equal((await shed.images.list()).length, 1, 'in use: never evicted');
    await (await shed.sandboxes.get(sb.id)).delete();
    shed.close();
    await d.stop();
    d = await startShedd(dirs, { args: ['--config', config] });
    shed = await Shed.connect({ socketPath: d.socketPath });
    assert.deepEqual(await shed.images.list(), [], 'unused and over the cap: evicted at start');
    shed.close();
    const log = await readFile(d.logPath, 'utf8');
    assert.match(log, /image cache cap: pruned/);
  });
});
