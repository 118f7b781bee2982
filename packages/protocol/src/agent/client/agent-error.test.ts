import assert from 'node:assert/strict';
import { it } from 'node:test';
import { isErrorCode } from '../../errors.js';
import { AgentError, codeForErrno } from './agent-error.js';

it('maps errno names onto the closed set of codes', () => {
  const cases: [string, string][] = [
    ['ENOENT', 'not_found'], ['ESRCH', 'not_found'], ['EEXIST', 'already_exists'], ['EINVAL', 'invalid_argument'],
    ['EACCES', 'failed_precondition'], ['EISDIR', 'failed_precondition'], ['ENOTEMPTY', 'failed_precondition'],
    ['EBUSY', 'failed_precondition'], ['ERANGE', 'failed_precondition'], ['ENOSPC', 'resource_exhausted'],
    ['EMFILE', 'resource_exhausted'], ['EPIPE', 'unavailable'], ['EIO', 'internal'], ['EWHATEVER', 'internal'],
  ];
  for (const [errno, code] of cases) assert.equal(codeForErrno(errno), code, errno);
});

it('fromReply keeps the errno and says what failed', () => {
  const e = AgentError.fromReply('stat /x', 'ENOENT', 'No such file or directory');
  assert.equal(e.code, 'not_found');
  assert.equal(e.errno, 'ENOENT');
  assert.equal(e.message, 'stat /x failed: ENOENT: No such file or directory');
  assert.ok(isErrorCode(e.code));
});
