// Warm claim → exec-ready, in the sandbox suite next to cold create: a pool keeps one member
// free; each sample waits (untimed) until the replenisher has refilled it, then times create()
// until it resolves with a claimed, exec-ready sandbox. Checked: the create took the warm path
// and the sandbox runs a command.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Sandbox, Shed } from '@shed/sdk';
import { stats, type Row, type Stats } from '../report.js';
import { check, timeMs, type SuiteOptions } from '../suite.js';

const POOL = 'bench-warm';
/** A profile no other row of the suite asks for, so only these creates claim from the pool. */
const MEMORY_MIB = 384;

async function refilled(shed: Shed): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    const p = await shed.pools.get(POOL);
    if (p.free >= 1 && p.making === 0) return;
    await sleep(5);
  }
  throw new Error(`pool ${POOL} was not refilled within 10 s`);
}

export async function warmClaimRows(suite: string, shed: Shed, opts: SuiteOptions, n: number, cold: Stats): Promise<Row[]> {
  await shed.pools.set(POOL, { image: 'default', memoryMiB: MEMORY_MIB, targetFree: 1, max: 1 });
  const samples: number[] = [];
  const configure: number[] = [];
  const total: number[] = [];
  const once = async (i: number): Promise<void> => {
    await refilled(shed);
    let sb: Sandbox | undefined;
    samples.push(await timeMs(async () => {
      sb = await shed.sandboxes.create({ image: 'default', memoryMiB: MEMORY_MIB });
    }));
    if (sb === undefined) throw new Error('create returned nothing');
    check(sb.info.createPath === 'warm', 'the create claimed a pool member');
    check((await sb.exec(['echo', String(i)])).stdout === `${i}\n`, 'the claimed sandbox runs a command');
    configure.push(sb.info.timings.create?.['configure'] ?? Number.NaN);
    total.push(sb.info.timings.create?.['total'] ?? Number.NaN);
    await sb.delete();
  };
  try {
    for (let i = 0; i < 3; i++) await once(i);
    samples.length = 0;
    configure.length = 0;
    total.length = 0;
    for (let i = 0; i < n; i++) await once(i);
  } finally {
    await shed.pools.delete(POOL);
  }
  const s = stats(samples);
  if (s.p50 > 3) opts.note(`warm claim p50 ${s.p50.toFixed(2)} ms is over its 3 ms budget (its configure round trip: p50 ${stats(configure).p50.toFixed(2)} ms)`);
  return [
    { suite, name: 'warm claim → exec-ready (SDK)', unit: 'ms', higherIsBetter: false, budgetP50: 3, stats: s, baseline: { name: 'cold create → exec-ready', stats: cold } },
    { suite, name: '  claim phase configure (agent round trip)', unit: 'ms', higherIsBetter: false, stats: stats(configure) },
    { suite, name: '  claim phase total (in shedd: lock, rows, configure)', unit: 'ms', higherIsBetter: false, stats: stats(total) },
  ];
}
