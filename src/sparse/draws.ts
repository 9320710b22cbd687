/**
 * The next draws of a generator, taken in one go: for a `makeRng` generator (mulberry32, whose
 * k-th draw is a hash of its counter, see `rngCounter`) the hash runs inline and the generator is
 * then moved past them, leaving it where `count` calls would have; any other generator is called
 * `count` times. The same numbers in the same order either way (the masks' random streams).
 */
import { type Rng, rngCounter } from '../engine/random.js';

export function takeDraws(rng: Rng, count: number): Float64Array {
  if (!Number.isInteger(count) || count < 0)
    throw new RangeError(`takeDraws: count must be a non-negative integer, got ${count}`);
  const out = new Float64Array(count);
  const counter = rngCounter(rng);
  if (counter === null) {
    for (let i = 0; i < count; i++) out[i] = rng();
    return out;
  }
  let a = counter.state();
  for (let i = 0; i < count; i++) {
    a = (a + MULBERRY_STEP) >>> 0;
    out[i] = mulberryDraw(a);
  }
  counter.skip(count);
  return out;
}

/** What a `makeRng` generator's counter advances by per draw. */
export const MULBERRY_STEP = 0x6d2b79f5;

/** The draw of a `makeRng` generator whose counter has just been advanced to `a` (mulberry32). */
export function mulberryDraw(a: number): number {
  let t = a;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
