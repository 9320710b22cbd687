import { makeRng, type Rng } from '../engine/random.js';

let counter = 0;
let base = 0x9e3779b9;

/** Sets the seed of the stream that stochastic rounding and random projections draw from. */
export function seedActivationRng(seed: number): void {
  base = (seed * 0x9e3779b1) >>> 0;
  counter = 0;
}

/** A fresh 32-bit seed from the stream; each compressed tensor gets its own. */
export function nextSeed(): number {
  counter++;
  return (base ^ Math.imul(counter, 0x85ebca6b)) >>> 0;
}

/** A generator for one compressed tensor. */
export function nextRng(): Rng {
  return makeRng(nextSeed());
}
