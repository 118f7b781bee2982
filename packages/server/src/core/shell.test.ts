import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { passwdShell } from './shell.js';

describe('passwdShell', () => {
  const passwd = 'root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/:/usr/sbin/nologin\nbroken:x:2\nrel:x:3:3::/:bin/sh\n';

  it("finds the user's login shell by uid", () => {
    assert.equal(passwdShell(passwd, 0), '/bin/bash');
    assert.equal(passwdShell(passwd, 1), '/usr/sbin/nologin');
  });

  it('answers undefined for a missing uid, a short line or a relative shell', () => {
    assert.equal(passwdShell(passwd, 1000), undefined);
    assert.equal(passwdShell(passwd, 2), undefined);
    assert.equal(passwdShell(passwd, 3), undefined);
    assert.equal(passwdShell('', 0), undefined);
  });
});
