// Fuzzes the TS decoder: valid frames mutated every way the generator knows, fed in random
// pieces. Every case must end in frames or a ProtocolError, never another exception.
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { it } from 'node:test';
import { decodeEntry, decodeMessage } from './codec.js';
import { FrameDecoder } from './decoder.js';
import { ProtocolError } from './errors.js';
import { mutateFrame, randomFrame, randomSplits, Rng } from './fuzz.js';

const CASES = 100_000;
/** CPU time, not wall time: a pathological (say quadratic) decoder trips it, a busy host does not. */
const CPU_LIMIT_MS = 20_000;

function runCase(rng: Rng): 'ok' | 'rejected' {
  const frames = Array.from({ length: rng.below(3) + 1 }, () => randomFrame(rng));
  const other = randomFrame(rng);
  const bytes = Buffer.concat(frames.map((f) => (rng.chance(0.85) ? mutateFrame(rng, f, other) : f)));
  const decoder = new FrameDecoder();
  let at = 0;
  try {
    for (const cut of [...randomSplits(rng, bytes.length), bytes.length]) {
      decoder.push(bytes.subarray(at, cut), (f) => {
        const m = decodeMessage(f);
        if (m.type === 'ENTRIES') for (const e of m.fields.entry ?? []) decodeEntry(rng.chance(0.5) ? 'file' : 'process', e);
      });
      at = cut;
    }
    return 'ok';
  } catch (err) {
    if (err instanceof ProtocolError) return 'rejected';
    throw err;
  }
}

it(`decoder survives ${CASES} mutated frame streams`, () => {
  const seed = Number(process.env.SHED_FUZZ_SEED ?? randomInt(0x7fff_ffff));
  console.log(`fuzz seed ${seed} (set SHED_FUZZ_SEED to replay)`);
  const rng = new Rng(seed);
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  const counts = { ok: 0, rejected: 0 };
  for (let i = 0; i < CASES; i++) {
    try {
      counts[runCase(rng)]++;
    } catch (err) {
      assert.fail(`case ${i} (seed ${seed}) threw a non-protocol error: ${String(err)}`);
    }
  }
  const ms = performance.now() - start;
  const cpu = process.cpuUsage(cpuStart);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  console.log(`fuzz: ${CASES} cases in ${ms.toFixed(0)} ms (${cpuMs.toFixed(0)} ms of CPU): ${counts.ok} decoded, ${counts.rejected} rejected`);
  assert.ok(counts.ok > CASES / 20 && counts.rejected > CASES / 4, `the mix should exercise both outcomes (seed ${seed})`);
  assert.ok(cpuMs < CPU_LIMIT_MS, `took ${cpuMs} ms of CPU (seed ${seed})`);
});
