// The C decoder's own fuzz driver, run as part of the suite so CI always fuzzes both
// decoders (the TS one is fuzzed in packages/protocol). The driver is built with ASan and
// UBSan; any sanitizer report or crash makes it exit non-zero.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { repo } from '../helpers/agent.js';

const run = promisify(execFile);
const CASES = 100_000;

test(`the C frame decoder survives ${CASES} random and mutated cases under ASan/UBSan`, async () => {
  // Printed before the run and named in every failure, so a failing seed can be replayed.
  const seed = String(process.env.SHED_FUZZ_SEED ?? randomInt(1_000_000));
  console.log(`C decoder fuzz seed ${seed} (set SHED_FUZZ_SEED to replay; or make -C agent check FUZZ_SEED=${seed})`);
  const { stdout, stderr } = await run(join(repo, 'agent/out/fuzz-decoder'), [seed, String(CASES)], { maxBuffer: 1 << 20 }).catch((err: unknown) => {
    assert.fail(`the fuzz driver failed with seed ${seed}: ${String(err)}`);
  });
  process.stdout.write(`# ${stdout.trim().split('\n')[0] ?? ''}\n`);
  assert.doesNotMatch(stderr, /runtime error|AddressSanitizer|LeakSanitizer/, `seed ${seed}`);
  const total = Number(/cases=(\d+)/.exec(stdout)?.[1] ?? 0);
  assert.ok(total >= CASES, `expected at least ${CASES} cases with seed ${seed}, the driver reported: ${stdout}`);
});
