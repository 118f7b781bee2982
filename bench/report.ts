// Shared by every suite: percentiles over samples, the table printed to the terminal and
// the JSON written for tools. A row is one measured case, optionally with a host-side
// baseline measured the same way.

export interface Stats {
  readonly n: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly mean: number;
}

export interface Row {
  readonly suite: string;
  readonly name: string;
  /** Unit of the stats, e.g. `ms` or `MiB/s`. */
  readonly unit: string;
  readonly stats: Stats;
  /** The same work done directly on the host, when there is a meaningful floor. */
  readonly baseline?: { readonly name: string; readonly stats: Stats };
  /** Budget for p50, when there is one (same unit); the row reports whether it was met. */
  readonly budgetP50?: number;
  /** Whether higher values are better (throughput) or lower (latency). */
  readonly higherIsBetter: boolean;
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: readonly number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] ?? Number.NaN;
}

export function stats(samples: readonly number[]): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  const sum = sorted.reduce((a, b) => a + b, 0);
  return { n: sorted.length, p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99), mean: sum / sorted.length };
}

/**
 * How many times worse the case is than its baseline, at p50: time / baseline time for
 * latency, baseline rate / rate for throughput. 1.0 = as fast as the host.
 */
export function ratio(row: Row): number | undefined {
  if (row.baseline === undefined) return undefined;
  const [a, b] = [row.stats.p50, row.baseline.stats.p50];
  return row.higherIsBetter ? b / a : a / b;
}

export function withinBudget(row: Row): boolean | undefined {
  if (row.budgetP50 === undefined) return undefined;
  return row.higherIsBetter ? row.stats.p50 >= row.budgetP50 : row.stats.p50 <= row.budgetP50;
}

function fmt(v: number): string {
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(3);
}

/** A fixed-width table: one line per row, its baseline on the next. */
export function table(rows: readonly Row[]): string {
  const head = ['case', 'n', 'p50', 'p95', 'p99', 'unit', 'ratio', 'budget'];
  const lines: string[][] = [head];
  for (const r of rows) {
    const q = ratio(r);
    const ok = withinBudget(r);
    const budget = r.budgetP50 === undefined ? '' : `${r.higherIsBetter ? '≥' : '≤'}${fmt(r.budgetP50)} ${ok === true ? 'ok' : 'MISSED'}`;
    lines.push([`${r.suite}: ${r.name}`, String(r.stats.n), fmt(r.stats.p50), fmt(r.stats.p95), fmt(r.stats.p99), r.unit, q === undefined ? '' : `${q.toFixed(2)}x`, budget]);
    if (r.baseline !== undefined) {
      const b = r.baseline.stats;
      lines.push([`  host: ${r.baseline.name}`, String(b.n), fmt(b.p50), fmt(b.p95), fmt(b.p99), r.unit, '', '']);
    }
  }
  const widths = head.map((_, i) => Math.max(...lines.map((l) => (l[i] ?? '').length)));
  return lines.map((l) => l.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ')).join('\n');
}

/** The JSON document: every row with its ratio and budget verdict. */
export function json(rows: readonly Row[], meta: Record<string, unknown>): string {
  return JSON.stringify({ ...meta, rows: rows.map((r) => ({ ...r, ratio: ratio(r), withinBudget: withinBudget(r) })) }, null, 2);
}
