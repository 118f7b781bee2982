// The layering rule is only worth having if it fails: lint imports that go upward (or
// sideways between sibling layers) and check that each one is reported.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { ESLint } from 'eslint';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

async function lintAt(file: string, code: string): Promise<string[]> {
  const eslint = new ESLint({ cwd: root });
  const [result] = await eslint.lintText(code, { filePath: path.join(root, file) });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

test('core may not import an outer layer', async () => {
  const msgs = await lintAt('packages/server/src/core/probe.ts', "export { x } from '../api/routes.js';\n");
  assert.equal(msgs.length, 1);
  assert.match(msgs[0] ?? '', /layer 'core' may not import 'api'/);
});

test('sibling layers may not import each other', async () => {
  const msgs = await lintAt('packages/server/src/drivers/container/probe.ts', "export { x } from '../../images/store.js';\n");
  assert.match(msgs[0] ?? '', /layer 'drivers' may not import 'images'/);
});

test('the daemon may import every layer', async () => {
  const msgs = await lintAt('packages/server/src/daemon/probe.ts', "export { x } from '../api/routes.js';\nexport { y } from '../core/ids.js';\n");
  assert.deepEqual(msgs, []);
});

test('the sdk may import only @shed/protocol, the cli only @shed/sdk', async () => {
  assert.equal((await lintAt('packages/sdk/src/probe.ts', "export { x } from '@shed/server';\n")).length, 1);
  assert.equal((await lintAt('packages/cli/src/probe.ts', "export { x } from '@shed/protocol';\n")).length, 1);
  assert.deepEqual(await lintAt('packages/cli/src/probe.ts', "export { x } from '@shed/sdk';\n"), []);
});
