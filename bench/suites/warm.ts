// Warm claim → exec-ready, in the sandbox suite next to cold create: a pool keeps one member
// free; each sample waits (untimed) until the replenisher has refilled it, then times create()
// until it resolves with a claimed, exec-ready sandbox. Checked: the create took the warm path
// and the sandbox runs a command (and, when named, has its name as hostname).
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

interface Samples {
  readonly e2e: number[];
  readonly phases: Map<string, number[]>;
}

/** n claims (after 3 warm-ups); `named`: each claim has a name, so the member is renamed. */
async function claims(shed: Shed, n: number, named: boolean): Promise<Samples> {
  const out: Samples = { e2e: [], phases: new Map() };
  const once = async (i: number, keep: boolean): Promise<void> => {
    await refilled(shed);
    let sb: Sandbox | undefined;
    const ms = await timeMs(async () => {
      sb = await shed.sandboxes.create({ image: 'default', memoryMiB: MEMORY_MIB, ...(named ? { name: `warm-${i}` } : {}) });
    });
    if (sb === undefined) throw new Error('create returned nothing');
    check(sb.info.createPath === 'warm', 'the create claimed a pool member');
    const expect = named ? `warm-${i}` : sb.id;
    check((await sb.exec(['sh', '-c', `echo ${i} $(hostname)`])).stdout === `${i} ${expect}\n`, 'the claimed sandbox runs a command, with its own hostname');
    if (keep) {
      out.e2e.push(ms);
      for (const [k, v] of Object.entries(sb.info.timings.create ?? {})) out.phases.set(k, [...(out.phases.get(k) ?? []), v]);
    }
    await sb.delete();
  };
  for (let i = 0; i < 3; i++) await once(i, false);
  for (let i = 0; i < n; i++) await once(i, true);
  return out;
}

export async function warmClaimRows(suite: string, shed: Shed, opts: SuiteOptions, n: number, cold: Stats): Promise<Row[]> {
  await shed.pools.set(POOL, { image: 'default', memoryMiB: MEMORY_MIB, targetFree: 1, max: 1 });
  let plain: Samples;
  let named: Samples;
  try {
    plain = await claims(shed, n, false);
    named = await claims(shed, n, true);
  } finally {
    await shed.pools.delete(POOL);
  }
  const s = stats(plain.e2e);
  const phase = (x: Samples, p: string): Stats => stats(x.phases.get(p) ?? []);
  if (s.p50 > 3) opts.note(`warm claim p50 ${s.p50.toFixed(2)} ms is over its 3 ms budget (in shedd: ${phase(plain, 'total').p50.toFixed(2)} ms, of which configure ${phase(plain, 'configure').p50.toFixed(2)} ms; the rest is the HTTP round trip)`);
  return [
    { suite, name: 'warm claim → exec-ready (SDK)', unit: 'ms', higherIsBetter: false, budgetP50: 3, stats: s, baseline: { name: 'cold create → exec-ready', stats: cold } },
    { suite, name: '  claim phase configure (agent round trip)', unit: 'ms', higherIsBetter: false, stats: phase(plain, 'configure') },
    { suite, name: '  claim phase total (in shedd: lock, rows, configure)', unit: 'ms', higherIsBetter: false, stats: phase(plain, 'total') },
    { suite, name: 'warm claim with a name (hostname renamed) → exec-ready', unit: 'ms', higherIsBetter: false, stats: stats(named.e2e) },
    { suite, name: '  claim phase hostname (nsenter through the spawn helper)', unit: 'ms', higherIsBetter: false, stats: phase(named, 'hostname') },
  ];
}
