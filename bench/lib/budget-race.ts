// Two or more training setups given the same training budget, interleaved: each arm trains in
// slices of `sliceMs` in turn (the order alternates every round), so that a change in the load of
// a shared machine falls on every arm alike. An arm keeps its model and optimizer across slices
// (one `train` call per slice with the arm's persistent optimizer); every slice draws its batches
// from a new permutation that all arms share. An arm's clock counts its setup (e.g. patch
// whitening) and its steps (batch gathering included) and not the test evaluation after each slice.
// An arm's RaceClock reads that clock mid-slice (a time-budget learning-rate schedule runs on it).
//
// The budget is on one of two clocks (`clock`): 'wall' (the setting: wall-clock seconds)
// or 'cpu' (process CPU seconds, user + system; the wasm backend runs on one thread). On a loaded
// machine a wall slice buys an arm anywhere from a fifth to all of a core, and which arm's slice
// falls on a busy moment is luck; the CPU clock gives every arm the same compute, what a wall
// budget gives on a quiet machine. Both clocks are recorded either way.
import type * as tf from '@tensorflow/tfjs';
import type { ClassificationData } from '../../src/data/dataset.js';
import type { StepHooks } from '../../src/train/gradients.js';
import { train } from '../../src/train/loop.js';

export const RACE_CLOCKS = ['wall', 'cpu'] as const;
export type RaceClockKind = (typeof RACE_CLOCKS)[number];

/** Milliseconds now on a clock: wall (performance.now) or this process's CPU time. */
export function clockNow(kind: RaceClockKind): number {
  if (kind === 'wall') return performance.now();
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** An arm's training clock: ms of its budget used so far, read at any moment of the race. */
export class RaceClock {
  usedMs = 0;
  sliceStart: number | null = null;
  constructor(readonly kind: RaceClockKind = 'wall') {}
  readonly ms = (): number =>
    this.usedMs + (this.sliceStart === null ? 0 : clockNow(this.kind) - this.sliceStart);
}

export interface RaceArm {
  name: string;
  model: tf.LayersModel;
  optimizer: tf.Optimizer;
  hooks?: StepHooks;
  /** Time already spent preparing the arm, on the race's clock (counted against its budget). */
  setupMs?: number;
  /** Kept up to date by the race (created before the arm's hooks, which may read it). */
  clock?: RaceClock;
}

export interface RacePoint {
  /** Wall seconds of the arm's steps so far (setup included). */
  seconds: number;
  /** Process CPU seconds of the arm's steps so far (setup included with the CPU clock). */
  cpuSeconds?: number;
  steps: number;
  acc: number;
}

export interface RaceResult {
  name: string;
  /** Accuracy on the test split after the last slice. */
  acc: number;
  /** Wall training seconds actually used (with the wall clock: the budget plus the last step's overshoot). */
  seconds: number;
  /**
   * Process CPU seconds of the arm's steps (to its last step of each slice, as `seconds`;
   * evaluation not; setup only with the CPU clock): on a loaded machine a wall budget buys less
   * CPU, and this says how much each arm actually got.
   */
  cpuSeconds?: number;
  steps: number;
  curve: RacePoint[];
}

export async function budgetRace(
  arms: RaceArm[],
  data: ClassificationData,
  o: {
    budgetMs: number;
    sliceMs: number;
    batchSize: number;
    learningRate: number;
    seed: number;
    /** The clock the budget, the slices and `setupMs` are on (default 'wall'). */
    clock?: RaceClockKind;
  },
): Promise<RaceResult[]> {
  const kind = o.clock ?? 'wall';
  const onCpu = kind === 'cpu';
  const state = arms.map((a) => ({
    arm: a,
    wallMs: onCpu ? 0 : (a.setupMs ?? 0),
    cpuMs: onCpu ? (a.setupMs ?? 0) : 0,
    steps: 0,
    curve: [] as RacePoint[],
  }));
  const used = (s: (typeof state)[number]) => (onCpu ? s.cpuMs : s.wallMs);
  // A slice shorter than this is not started (it would still take one whole step).
  const minSliceMs = 100;
  for (let round = 0; ; round++) {
    const order = round % 2 === 0 ? state : [...state].reverse();
    let trained = false;
    for (const s of order) {
      const left = o.budgetMs - used(s);
      if (left < minSliceMs) continue;
      trained = true;
      const sliceMs = Math.min(o.sliceMs, left);
      const t0 = performance.now();
      const cpu0 = clockNow('cpu');
      let lastWall = t0;
      let lastCpu = cpu0;
      if (s.arm.clock) {
        s.arm.clock.usedMs = used(s);
        s.arm.clock.sliceStart = onCpu ? cpu0 : t0;
      }
      // With the CPU clock the slice ends after the step that uses it up (the loop's wall budget
      // only with the wall clock); the model's stop flag ends the slice before the next step.
      const stopFlag = s.arm.model as unknown as { stopTraining: boolean };
      const r = await train(
        s.arm.model,
        data,
        {
          epochs: 1,
          batchSize: o.batchSize,
          learningRate: o.learningRate,
          seed: o.seed * 1000 + round,
          measureMemory: false,
        },
        {
          optimizer: s.arm.optimizer,
          hooks: s.arm.hooks,
          timeBudgetMs: onCpu ? undefined : sliceMs,
          onProgress: (e) => {
            if (e.kind === 'step') {
              lastWall = performance.now();
              lastCpu = clockNow('cpu');
              s.steps++;
              if (onCpu && lastCpu - cpu0 >= sliceMs) stopFlag.stopTraining = true;
            }
          },
        },
      );
      if (onCpu) stopFlag.stopTraining = false;
      s.wallMs += lastWall - t0;
      s.cpuMs += lastCpu - cpu0;
      if (s.arm.clock) {
        s.arm.clock.usedMs = used(s);
        s.arm.clock.sliceStart = null;
      }
      s.curve.push({
        seconds: s.wallMs / 1000,
        cpuSeconds: s.cpuMs / 1000,
        steps: s.steps,
        acc: r.testAccuracy,
      });
      console.log(
        `  ${s.arm.name}: ${(s.wallMs / 1000).toFixed(1)} s wall, ${(s.cpuMs / 1000).toFixed(1)} s cpu, ${s.steps} steps, acc ${r.testAccuracy.toFixed(4)}`,
      );
    }
    if (!trained) break;
  }
  return state.map((s) => {
    const last = s.curve[s.curve.length - 1];
    return {
      name: s.arm.name,
      acc: last.acc,
      seconds: s.wallMs / 1000,
      cpuSeconds: s.cpuMs / 1000,
      steps: s.steps,
      curve: s.curve,
    };
  });
}
