/** Seconds as people write them: 600 → '10m', 5400 → '1h30m', 90_061 → '1d1h1m1s'. Shared by shedd's messages and the CLI. */
export function formatSeconds(total: number): string {
  let rest = Math.max(0, Math.round(total));
  const parts: string[] = [];
  for (const [unit, size] of [['d', 86_400], ['h', 3600], ['m', 60]] as const) {
    if (rest < size) continue;
    parts.push(`${Math.floor(rest / size)}${unit}`);
    rest %= size;
  }
  if (rest > 0 || parts.length === 0) parts.push(`${rest}s`);
  return parts.join('');
}
