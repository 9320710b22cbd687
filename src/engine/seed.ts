/**
 * The process-wide default seed: used by zoo models, data loaders and training when a config
 * gives no seed of its own. Set by `initEngine({seed})`.
 */
let current = 0;

export function setDefaultSeed(seed: number): void {
  if (!Number.isInteger(seed)) throw new Error(`seed must be an integer, got ${seed}`);
  current = seed;
}

export function defaultSeed(): number {
  return current;
}
