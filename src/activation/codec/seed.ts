import { makeRng, type Rng } from '../../engine/random.js';
import { nextActivationSeed } from '../../engine/settings.js';

// The stream's state is a process-wide setting (engine/settings.ts, `seedActivationRng`).

/** A fresh 32-bit seed from the activation stream; each compressed tensor gets its own. */
export function nextSeed(): number {
  return nextActivationSeed();
}

/** A generator for one compressed tensor. */
export function nextRng(): Rng {
  return makeRng(nextSeed());
}
