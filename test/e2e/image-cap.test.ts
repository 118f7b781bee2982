// [images] maxCacheBytes end to end: a real shedd whose config caps the image cache evicts
// unused images at start, least recently used first, and leaves a used one alone.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { useLeakCheck } from '../helpers/leaks.js';
import { e2eUnavailable, useShedd } from './shedd.js';

const skip = await e2eUnavailable();
if (skip !== undefined) console.log(`# e2e image cap tests skipped: ${skip}`);
useLeakCheck();

describe('e2e: the image cache cap', { skip }, () => {
  // No grace: the image just used may go at the next start.
  const fx = useShedd('shed-e2e-imgcap-', { config: '[images]\nmaxCacheBytes = 0\npruneGraceMs = 0\n' });

  it('keeps an image a sandbox uses, and evicts it at the next start once unused', async () => {
    const sb = await fx.shed.sandboxes.create({ image: 'default' });
    await fx.restart('stop');
    assert.equal((await fx.shed.images.list()).length, 1, 'in use: never evicted');
    await (await fx.shed.sandboxes.get(sb.id)).delete();
    await fx.restart('stop');
    assert.deepEqual(await fx.shed.images.list(), [], 'unused and over the cap: evicted at start');
    const log = await readFile(fx.d.logPath, 'utf8');
    assert.match(log, /image cache cap: pruned/);
  });
});
