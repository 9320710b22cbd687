/** Formatting helpers shared by the CLI tables and benchmark reports. */
export function mb(bytes: number): string {
  return (bytes / (1024 * 1024)).toFixed(2);
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
