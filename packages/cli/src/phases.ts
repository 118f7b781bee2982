import { table } from './output.js';

const COLUMNS: Readonly<Record<string, string>> = { create: 'CREATE', start: 'START', lastExec: 'LAST EXEC' };

/**
 * Phase timings as a table: one row per phase, one column per operation (create, start,
 * last exec), milliseconds; `total` last. Empty when nothing was timed.
 */
export function phasesTable(timings: Readonly<Record<string, Readonly<Record<string, number>> | undefined>>): string {
  const ops = Object.entries(timings).filter((e): e is [string, Readonly<Record<string, number>>] => e[1] !== undefined);
  if (ops.length === 0) return '';
  const phases = [...new Set(ops.flatMap(([, t]) => Object.keys(t)))].sort((a, b) => Number(a === 'total') - Number(b === 'total'));
  const rows = phases.map((p) => [p, ...ops.map(([, t]) => (t[p] === undefined ? '' : (t[p] ?? 0).toFixed(2)))]);
  return table(['PHASE (ms)', ...ops.map(([op]) => COLUMNS[op] ?? op.toUpperCase())], rows);
}
