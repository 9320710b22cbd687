/** A kernel, stride or pool size given as one number or [rows, cols], as a [rows, cols] pair. */
export function pair(
  v: number | number[] | undefined | null,
  dflt: [number, number],
): [number, number] {
  if (v == null) return dflt;
  return typeof v === 'number' ? [v, v] : [v[0], v[1] ?? v[0]];
}
