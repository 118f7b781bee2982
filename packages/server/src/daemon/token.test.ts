import { strict as assert } from 'node:assert';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ShedError } from '../core/errors.js';
import { readToken } from './token.js';

const TOKEN = '0123456789abcdef0123';

describe('TCP token', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shed-token-test-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const file = async (name: string, text: string, mode: number): Promise<string> => {
    const p = join(dir, name);
    await writeFile(p, text);
    await chmod(p, mode);
    return p;
  };
  const fails = (p: Promise<unknown>, code: string, re: RegExp) =>
    assert.rejects(p, (e: unknown) => e instanceof ShedError && e.code === code && re.test(e.message));

  it('reads a 0600 or 0400 file, without its trailing newline', async () => {
    assert.equal(await readToken({ file: await file('a', `${TOKEN}\n`, 0o600) }, {}), TOKEN);
    assert.equal(await readToken({ file: await file('b', TOKEN, 0o400) }, {}), TOKEN);
  });

  it('takes $SHED_TOKEN', async () => {
    assert.equal(await readToken({ env: 'SHED_TOKEN' }, { SHED_TOKEN: TOKEN }), TOKEN);
  });

  it('refuses a file group or others can read, naming the mode and the fix', async () => {
    await fails(readToken({ file: await file('c', TOKEN, 0o644) }, {}), 'failed_precondition', /mode 0644; it must be 0600 \(chmod 600/);
    await fails(readToken({ file: await file('d', TOKEN, 0o640) }, {}), 'failed_precondition', /mode 0640/);
  });

  it('refuses no token, a missing file, a directory, short or spaced tokens', async () => {
    await fails(readToken(undefined, {}), 'failed_precondition', /needs a bearer token/);
    await fails(readToken({ file: join(dir, 'missing') }, {}), 'failed_precondition', /cannot read the token file/);
    const sub = join(dir, 'sub');
    await mkdir(sub, { mode: 0o700 });
    await fails(readToken({ file: sub }, {}), 'failed_precondition', /not a regular file/);
    await fails(readToken({ file: await file('e', 'short', 0o600) }, {}), 'invalid_argument', /at least 16 characters/);
    await fails(readToken({ env: 'SHED_TOKEN' }, { SHED_TOKEN: `${TOKEN} ${TOKEN}` }), 'invalid_argument', /without whitespace/);
  });
});
