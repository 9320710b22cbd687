/** Small seeded PRNG (mulberry32) used wherever frugal needs reproducible randomness outside tfjs. */
export type Rng = () => number;

/** What a `makeRng` generator's counter advances by per draw. */
export const MULBERRY_STEP = 0x6d2b79f5;

/** The draw of a `makeRng` generator whose counter has just been advanced to `a` (mulberry32). */
export function mulberryDraw(a: number): number {
  let t = a;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

export function makeRng(seed: number): Rng {
  let a = seed >>> 0;
  const rng = () => {
    a = (a + MULBERRY_STEP) >>> 0;
    return mulberryDraw(a);
  };
  counters.set(rng, {
    state: () => a,
    skip: (n) => {
      a = (a + Math.imul(n, MULBERRY_STEP)) >>> 0;
    },
  });
  return rng;
}

/**
 * A `makeRng` generator's counter: mulberry32's k-th draw is a hash of `state + k * 0x6d2b79f5`
 * alone, so code elsewhere (the wasm codec) can compute the next draws from `state()` and then
 * `skip(n)` them, leaving the generator where n calls would have.
 */
export interface RngCounter {
  state(): number;
  skip(n: number): void;
}

const counters = new WeakMap<Rng, RngCounter>();

/** The counter of a generator made by `makeRng`; null for any other function. */
export function rngCounter(rng: Rng): RngCounter | null {
  return counters.get(rng) ?? null;
}

/**
 * The next `count` draws of a generator, taken in one go: for a `makeRng` generator the hash runs
 * inline from its counter and the generator is then moved past them, leaving it where `count`
 * calls would have; any other generator is called `count` times. The same numbers in the same
 * order either way (the N:M gradient masks' random streams, src/sparse/mask-fast.ts).
 */
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

/** Standard normal sample by Box-Muller. */
export function normal(rng: Rng): number {
  let u = rng();
  while (u === 0) u = rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

/** A permutation of 0..n-1, Fisher-Yates with the given generator. */
export function permutation(n: number, rng: Rng): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}
