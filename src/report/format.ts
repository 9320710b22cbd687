/** Formatting helpers shared by the CLI tables and benchmark reports. */
/** Bytes as decimal megabytes (1 MB = 10^6 bytes, as `--memory-budget` parses 'MB'). */
export function mb(bytes: number): string {
  return (bytes / 1e6).toFixed(2);
}

export function pct(x: number, digits = 2): string {
  return `${(x * 100).toFixed(digits)}%`;
}

export function fixed(x: number, digits = 1): string {
  return Number.isFinite(x) ? x.toFixed(digits) : 'n/a';
}

export function ratio(x: number): string {
  return Number.isFinite(x) ? `${x.toFixed(2)}x` : 'n/a';
}
