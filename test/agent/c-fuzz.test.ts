// The C decoder's own fuzz driver, run as part of the suite so CI always fuzzes both
// decoders (the TS one is fuzzed in packages/protocol). The driver is built with ASan and
// UBSan; any sanitizer report or crash makes it exit non-zero.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { repo } from '../helpers/agent.js';

const run = promisify(execFile);
const CASES = 100_000;

test(`the C frame decoder survives ${CASES} random and mutated cases under ASan/UBSan`, async () => {
  const seed = String(Date.now() % 1_000_000);
  const { stdout, stderr } = await run(join(repo, 'agent/out/fuzz-decoder'), [seed, String(CASES)], { maxBuffer: 1 << 20 });
  process.stdout.write(`# ${stdout.trim().split('\n')[0] ?? ''}\n`);
  assert.doesNotMatch(stderr, /runtime error|AddressSanitizer|LeakSanitizer/);
  const total = Number(/cases=(\d+)/.exec(stdout)?.[1] ?? 0);
  assert.ok(total >= CASES, `expected at least ${CASES} cases, the driver reported: ${stdout}`);
});
