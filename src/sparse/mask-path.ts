/**
 * Which implementation the N:M gradient masks run: 'fast' (the default: mask-fast.ts for `mvue`
 * and `magnitude`) or 'reference' (group by group through `maskGroupFast`, one generator call per
 * draw). Both give the same values from the same random
 * stream (test/sparse/mask-fast.test.ts); 'reference' is there to compare against, in tests and
 * in bench/sparse-grad-step.ts (the step before and after the fast path, in one process).
 */
export type MaskPath = 'fast' | 'reference';

let current: MaskPath = 'fast';

/** Sets the path; returns the previous one (to restore it). */
export function setMaskPath(path: MaskPath): MaskPath {
  if (path !== 'fast' && path !== 'reference')
    throw new Error(`setMaskPath: path must be 'fast' or 'reference', got '${String(path)}'`);
  const previous = current;
  current = path;
  return previous;
}

export function maskPath(): MaskPath {
  return current;
}
