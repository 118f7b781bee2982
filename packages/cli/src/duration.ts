import { UsageError } from './output.js';

const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** '90' or '90s' → 90, '10m' → 600, '1h30m' → 5400. Whole seconds only. */
export function parseDurationSeconds(text: string, flag: string): number {
  const parts = /^(?:\d+[smhd])+$/.test(text) ? [...text.matchAll(/(\d+)([smhd])/g)] : /^\d+$/.test(text) ? [[text, text, 's']] : null;
  if (parts === null) throw new UsageError(`${flag} '${text}' is not a duration; use e.g. 90s, 10m, 1h30m or a number of seconds`);
  const seconds = parts.reduce((sum, [, n, unit]) => sum + Number(n) * (UNIT_SECONDS[unit ?? 's'] ?? 1), 0);
  if (seconds < 1) throw new UsageError(`${flag} must be at least 1s`);
  return seconds;
}
