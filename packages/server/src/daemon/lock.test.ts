import { strict as assert } from 'node:assert';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ShedError } from '../core/errors.js';
import { prepareDirs } from './dirs.js';
import { lockDirs } from './lock.js';

describe('daemon directories and lock', () => {
  const made: string[] = [];
  const temp = async (): Promise<string> => {
    const d = await mkdtemp(join(tmpdir(), 'shed-daemon-unit-'));
    made.push(d);
    return d;
  };
  after(async () => {
    for (const d of made) await rm(d, { recursive: true, force: true });
  });

  it('allows one holder per directory; a second is failed_precondition until the first lets go', async () => {
    const a = await temp();
    const b = await temp();
    const held = await lockDirs([a, b]);
    await assert.rejects(lockDirs([b]), (e) => e instanceof ShedError && e.code === 'failed_precondition' && e.message.includes(b));
    // The same directory by another path (a trailing slash) is the same lock.
    await assert.rejects(lockDirs([`${a}/`]), (e) => e instanceof ShedError && e.code === 'failed_precondition');
    for (const s of held) await new Promise<void>((done) => s.close(() => done()));
    const again = await lockDirs([a, b]);
    for (const s of again) s.close();
  });

  it('a failed lock releases what it had taken', async () => {
    const a = await temp();
    const b = await temp();
    const holdB = await lockDirs([b]);
    await assert.rejects(lockDirs([a, b]));
    const onlyA = await lockDirs([a]);
    for (const s of [...holdB, ...onlyA]) s.close();
  });

  it('makes the data and run dirs traversable (0711) and the database file 0600', async () => {
    const root = await temp();
    const db = await prepareDirs({ dataDir: join(root, 'data'), runDir: join(root, 'run') });
    assert.equal((await stat(join(root, 'data'))).mode & 0o777, 0o711);
    assert.equal((await stat(join(root, 'run'))).mode & 0o777, 0o711);
    assert.equal((await stat(db)).mode & 0o777, 0o600);
  });
});
