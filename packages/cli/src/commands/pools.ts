import type { PoolInfo, PoolOptions } from '@shed/sdk';
import { connect, type GlobalOptions } from '../connect.js';
import { ago, printJson, table, UsageError } from '../output.js';

export interface PoolSetFlags {
  image?: string;
  snapshot?: string;
  memoryMib?: string;
  cpuMillis?: string;
  pidsMax?: string;
  network?: string;
  min?: string;
  targetFree?: string;
  max?: string;
  memoryBudgetMib?: string;
}

export async function poolLs(g: GlobalOptions): Promise<number> {
  const shed = await connect(g);
  try {
    const list = await shed.pools.list();
    if (g.json === true) printJson(list);
    else process.stdout.write(table(['POOL', 'SOURCE', 'PROFILE', 'FREE', 'MIN/TARGET/MAX', 'BUDGET', 'CLAIMS', 'ORIGIN', 'LAST ERROR'], list.map(row)));
    return 0;
  } finally {
    shed.close();
  }
}

function row(p: PoolInfo): string[] {
  const making = p.making > 0 ? ` (+${p.making})` : '';
  const err = p.lastError === null ? '-' : `${p.lastError.code}: ${p.lastError.message} (${ago(p.lastError.at)}, ${p.failures} in a row)`;
  return [
    p.name, p.image ?? `snapshot ${p.snapshot ?? '?'}`, `${p.memoryMiB} MiB, ${p.cpuMillis / 1000} CPU, ${p.pidsMax} pids`,
    `${p.free}${making}`, `${p.min}/${p.targetFree}/${p.max}`, `${p.memoryBudgetMiB} MiB (cap ${p.capacity})`, String(p.claims), p.origin, err,
  ];
}

export async function poolSet(name: string, f: PoolSetFlags, g: GlobalOptions): Promise<number> {
  const opts: PoolOptions = {
    ...(f.image === undefined ? {} : { image: f.image }),
    ...(f.snapshot === undefined ? {} : { snapshot: f.snapshot }),
    ...network(f.network),
    ...num('memoryMiB', f.memoryMib), ...num('cpuMillis', f.cpuMillis), ...num('pidsMax', f.pidsMax),
    ...num('min', f.min), ...num('targetFree', f.targetFree), ...num('max', f.max), ...num('memoryBudgetMiB', f.memoryBudgetMib),
  };
  const shed = await connect(g);
  try {
    const p = await shed.pools.set(name, opts);
    if (g.json === true) printJson(p);
    else process.stdout.write(`${p.name}\n`);
    return 0;
  } finally {
    shed.close();
  }
}

export async function poolRm(names: string[], g: GlobalOptions): Promise<number> {
  const shed = await connect(g);
  try {
    for (const n of names) await shed.pools.delete(n);
    if (g.json === true) printJson({ deleted: names });
    return 0;
  } finally {
    shed.close();
  }
}

function network(v: string | undefined): Pick<PoolOptions, 'network'> {
  if (v === undefined) return {};
  if (v !== 'none' && v !== 'nat') throw new UsageError(`--network must be 'none' or 'nat'; got '${v}'`);
  return { network: v };
}

type Count = 'memoryMiB' | 'cpuMillis' | 'pidsMax' | 'min' | 'targetFree' | 'max' | 'memoryBudgetMiB';

function num(field: Count, v: string | undefined): Partial<Record<Count, number>> {
  if (v === undefined) return {};
  if (!/^\d+$/.test(v)) throw new UsageError(`--${field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`).replace('mi-b', 'mib')} must be a whole number; got '${v}'`);
  return { [field]: Number(v) };
}
