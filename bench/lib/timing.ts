/** Timing in interleaved rounds: load from other processes on the machine hits every variant alike. */

export interface RoundsOptions {
  /** Timed rounds. */
  rounds: number;
  /** Untimed rounds run first, the same way (compilation, optimizer slots, caches). Default 0. */
  warmup?: number;
  /**
   * Rotate the order: round r (warm-up rounds counted) starts at variant r mod n, so no variant
   * always runs right after the same other one. Default false: variants in the order given.
   */
  rotate?: boolean;
}

/**
 * A step to time. When it returns a function, that function runs after the step's clock stops
 * (to free what the step made without timing the disposal); any other return value is ignored.
 */
export type TimedStep = () => unknown;

/**
 * Runs every step once per round for `warmup + rounds` rounds and returns the milliseconds of the
 * timed rounds: `times[variant][round]`.
 */
export function interleavedTimes(steps: readonly TimedStep[], options: RoundsOptions): number[][] {
  const { rounds, warmup = 0, rotate = false } = options;
  if (!Number.isInteger(rounds) || rounds < 1)
    throw new Error(`interleavedTimes: rounds must be a positive integer, got ${rounds}`);
  if (!Number.isInteger(warmup) || warmup < 0)
    throw new Error(`interleavedTimes: warmup must be a non-negative integer, got ${warmup}`);
  const n = steps.length;
  const times: number[][] = steps.map(() => []);
  for (let r = 0; r < warmup + rounds; r++) {
    for (let k = 0; k < n; k++) {
      const i = rotate ? (k + r) % n : k;
      const t0 = performance.now();
      const after = steps[i]();
      const ms = performance.now() - t0;
      if (typeof after === 'function') (after as () => void)();
      if (r >= warmup) times[i].push(ms);
    }
  }
  return times;
}

export interface BlockRoundsOptions extends RoundsOptions {
  /**
   * Steps per visit: each round runs a variant `block` times in a row and times only the last
   * (the ones before pay for what the previous variant left behind: its garbage, cold caches).
   * Default 1 (every run timed, as `interleavedTimes`).
   */
  block?: number;
}

/** Wall-clock and process CPU milliseconds of each timed run: `[variant][round]`. */
export interface WallCpuTimes {
  wall: number[][];
  /** User + system CPU time of the whole process (all its threads) during the run. */
  cpu: number[][];
}

/**
 * `interleavedTimes` that also reads the process's CPU time around each timed run (on a machine
 * other processes load, CPU time moves far less than wall time: being descheduled costs none),
 * with `block` runs per visit of which the last is timed.
 */
export function interleavedWallCpu(
  steps: readonly TimedStep[],
  options: BlockRoundsOptions,
): WallCpuTimes {
  const { rounds, warmup = 0, rotate = false, block = 1 } = options;
  if (!Number.isInteger(rounds) || rounds < 1)
    throw new Error(`interleavedWallCpu: rounds must be a positive integer, got ${rounds}`);
  if (!Number.isInteger(warmup) || warmup < 0)
    throw new Error(`interleavedWallCpu: warmup must be a non-negative integer, got ${warmup}`);
  if (!Number.isInteger(block) || block < 1)
    throw new Error(`interleavedWallCpu: block must be a positive integer, got ${block}`);
  const n = steps.length;
  const wall: number[][] = steps.map(() => []);
  const cpu: number[][] = steps.map(() => []);
  const run = (i: number): [number, number] => {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const after = steps[i]();
    const ms = performance.now() - t0;
    const c = process.cpuUsage(c0);
    if (typeof after === 'function') (after as () => void)();
    return [ms, (c.user + c.system) / 1000];
  };
  for (let r = 0; r < warmup + rounds; r++) {
    for (let k = 0; k < n; k++) {
      const i = rotate ? (k + r) % n : k;
      for (let j = 0; j < block - 1; j++) run(i);
      const [ms, cpuMs] = run(i);
      if (r >= warmup) {
        wall[i].push(ms);
        cpu[i].push(cpuMs);
      }
    }
  }
  return { wall, cpu };
}
