import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ShedError } from '../core/errors.js';
import type { ImageDigest } from '../core/ids.js';
import { openDb } from './db.js';
import { SqliteImageRepo } from './images-repo.js';

const d = (c: string) => `sha256:${c.repeat(64)}` as ImageDigest; // Cast: 64 hex characters form a digest.
const blob = (digest: string) => ({ digest, mediaType: 'x', sizeBytes: 1, createdAt: 1 });
const image = (digest: ImageDigest, layers: string[]) => ({ digest, config: { env: ['A=1'], workingDir: '/' }, source: 'dir' as const, diskBytes: 10, createdAt: 5, layers });

describe('SqliteImageRepo', () => {
  it('stores an image with its layers and names, and moves a name to a newer image', () => {
    const repo = new SqliteImageRepo(openDb({ path: ':memory:' }));
    repo.putImage(image(d('a'), [d('1'), d('2')]), [blob(d('1')), blob(d('2'))], ['app:1', 'app:latest']);
    const a = repo.getImage(d('a'));
    assert.deepEqual(a?.layers, [d('1'), d('2')]);
    assert.deepEqual(a?.names, ['app:1', 'app:latest']);
    assert.deepEqual(a?.config, { env: ['A=1'], workingDir: '/' });
    repo.putImage(image(d('b'), [d('1')]), [blob(d('1'))], ['app:latest']);
    assert.equal(repo.lookupName('app:latest'), d('b'));
    assert.deepEqual(repo.getImage(d('a'))?.names, ['app:1']);
    repo.touch(d('a'), 99);
    assert.equal(repo.getImage(d('a'))?.lastUsedAt, 99);
  });

  it('keeps blobs a layer references, and removes the rest', () => {
    const repo = new SqliteImageRepo(openDb({ path: ':memory:' }));
    repo.putImage(image(d('a'), [d('1')]), [blob(d('1')), blob(d('9'))], ['a']);
    assert.deepEqual(repo.removeBlobs([d('1'), d('9')]), [d('9')]);
    repo.removeImage(d('a'));
    assert.equal(repo.lookupName('a'), undefined);
    assert.deepEqual(repo.removeBlobs([d('1')]), [d('1')]);
  });

  it('refuses to remove an image a sandbox row references', () => {
    const db = openDb({ path: ':memory:' });
    const repo = new SqliteImageRepo(db);
    repo.putImage(image(d('a'), []), [], ['a']);
    db.prepare("INSERT INTO sandboxes (id, image_digest, driver, spec, state, created_at, updated_at) VALUES ('sb-000000000001', ?, 'container', '{}', 'running', 1, 1)").run(d('a'));
    assert.throws(() => repo.removeImage(d('a')), (e: unknown) => e instanceof ShedError && e.code === 'failed_precondition');
  });

  it('reports a corrupt config column as internal', () => {
    const db = openDb({ path: ':memory:' });
    const repo = new SqliteImageRepo(db);
    repo.putImage(image(d('a'), []), [], []);
    db.prepare("UPDATE images SET config = '{\"env\":[1],\"workingDir\":\"/\"}'").run();
    assert.throws(() => repo.getImage(d('a')), (e: unknown) => e instanceof ShedError && e.code === 'internal');
  });
});
