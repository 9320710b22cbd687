import { makeRng, normal } from '../src/engine/random.js';

/**
 * `n` seeded normal values scale * N(0, 1) + shift from frugal's RNG, in double precision (the
 * caller stores them as Float32Array or Float64Array).
 */
export function seededNormals(n: number, seed: number, scale = 1, shift = 0): number[] {
  const rng = makeRng(seed);
  return Array.from({ length: n }, () => normal(rng) * scale + shift);
}
