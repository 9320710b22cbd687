// Cuts a chain of layers (remat/chain.ts stages) into contiguous pipeline stages over workers:
// balance the slowest stage's time, keep each stage's memory under a budget. Inputs come from the
// rematerialization profiler (profileChain) at the microbatch size.
import type { Chain } from '../remat/chain.js';
import type { ChainProfile } from '../remat/profile.js';
import type { PipelineMode } from './schedule.js';

/** Cost of one chain stage (a layer, or a whole residual block) for one microbatch. */
export interface LayerCost {
  name: string;
  /** Recorded forward plus backward, ms. */
  timeMs: number;
  /** Bytes of its trainable weights. */
  weightBytes: number;
  /** Bytes its recorded forward keeps for the backward (tape), per microbatch. */
  activationBytes: number;
  /** Bytes of its output (what a cut after it sends to the next stage), per microbatch. */
  outputBytes: number;
}

/** Reads per-layer costs from a chain's profile (measured at the microbatch size). */
export function costsFromProfile(chain: Chain, profile: ChainProfile): LayerCost[] {
  const stages = profile.costs.stages;
  return stages.map((s, i) => ({
    name: s.name,
    timeMs: s.keep[0].allMs + s.keep[0].bwdMs,
    weightBytes: chain.stages[i].weightBytes,
    activationBytes: s.keep[0].tapeBytes + (i === 0 ? 0 : s.inputBytes),
    outputBytes: i + 1 < stages.length ? stages[i + 1].inputBytes : profile.outputBytes,
  }));
}

export interface PipelinePlanOptions {
  /** Pipeline stages (one worker each). */
  stages: number;
  /** Microbatches per batch. */
  microbatches: number;
  mode?: PipelineMode;
  /** Bytes one stage may hold (weights, versions, optimizer state, stashed activations). */
  memoryBudgetBytes?: number;
  /** Floats of optimizer state per weight (Adam 2, momentum/rmsprop 1, sgd 0; default 2). */
  optimizerSlots?: number;
}

export interface PipelineStagePlan {
  /** Chain stages [start, end) this pipeline stage runs. */
  start: number;
  end: number;
  names: string[];
  timeMs: number;
  memoryBytes: number;
}

export interface PipelinePlan {
  mode: PipelineMode;
  microbatches: number;
  stages: PipelineStagePlan[];
  /** The slowest stage's time per microbatch, ms. */
  bottleneckMs: number;
}

/** Weight-sized copies a stage keeps: its versions, the gradient accumulator, optimizer state. */
export function weightCopies(mode: PipelineMode, optimizerSlots: number): number {
  return (mode === '2bw' ? 2 : 1) + 1 + optimizerSlots;
}

/** Microbatches whose activations stage `stage` of `stages` holds at once. */
export function inFlightMicrobatches(
  mode: PipelineMode,
  stage: number,
  stages: number,
  microbatches: number,
): number {
  return mode === 'gpipe' ? microbatches : Math.min(stages - stage, microbatches);
}

/**
 * Plans a pipeline: the contiguous split of `costs` into `options.stages` stages that minimises
 * the slowest stage's time (dynamic programming over cut points), among the splits whose every
 * stage fits `memoryBudgetBytes`. A stage's memory: its weights times `weightCopies`, plus its
 * in-flight microbatches' activations (1F1B: stage s of d holds min(d - s, m); GPipe: m).
 */
export function planPipeline(costs: LayerCost[], options: PipelinePlanOptions): PipelinePlan {
  const d = options.stages;
  const m = options.microbatches;
  const mode = options.mode ?? '2bw';
  const slots = options.optimizerSlots ?? 2;
  const budget = options.memoryBudgetBytes ?? Number.POSITIVE_INFINITY;
  const n = costs.length;
  if (!Number.isInteger(d) || d < 1)
    throw new Error(`pipeline stages must be a positive integer, got ${d}`);
  if (!Number.isInteger(m) || m < 1)
    throw new Error(`pipeline microbatches must be a positive integer, got ${m}`);
  if (!Number.isInteger(slots) || slots < 0)
    throw new Error(`optimizerSlots must be a non-negative integer, got ${slots}`);
  if (!(budget > 0)) throw new Error(`memoryBudgetBytes must be positive, got ${budget}`);
  if (d > n)
    throw new Error(
      `cannot cut ${n} layer${n === 1 ? '' : 's'} (${costs.map((c) => c.name).join(', ')}) into ${d} pipeline stages: more stages than layers`,
    );
  const copies = weightCopies(mode, slots);
  const sum = (f: (c: LayerCost) => number, i: number, j: number) => {
    let s = 0;
    for (let k = i; k < j; k++) s += f(costs[k]);
    return s;
  };
  const memory = (stage: number, i: number, j: number) =>
    copies * sum((c) => c.weightBytes, i, j) +
    inFlightMicrobatches(mode, stage, d, m) * sum((c) => c.activationBytes, i, j);
  const time = (i: number, j: number) => sum((c) => c.timeMs, i, j);
  // best[s][j]: the least bottleneck placing layers [0, j) on stages [0, s); cut[s][j] its start.
  const best = Array.from({ length: d + 1 }, () =>
    new Array<number>(n + 1).fill(Number.POSITIVE_INFINITY),
  );
  const cut = Array.from({ length: d + 1 }, () => new Array<number>(n + 1).fill(-1));
  best[0][0] = 0;
  for (let s = 1; s <= d; s++) {
    for (let j = s; j <= n - (d - s); j++) {
      for (let i = s - 1; i < j; i++) {
        if (!Number.isFinite(best[s - 1][i]) || memory(s - 1, i, j) > budget) continue;
        const v = Math.max(best[s - 1][i], time(i, j));
        if (v < best[s][j]) {
          best[s][j] = v;
          cut[s][j] = i;
        }
      }
    }
  }
  if (!Number.isFinite(best[d][n])) {
    // Name the first layer that does not fit even alone at the most loaded position.
    const worst = costs.findIndex((_, k) => memory(0, k, k + 1) > budget);
    const detail =
      worst >= 0
        ? `layer ${costs[worst].name} alone needs ${memory(0, worst, worst + 1)} bytes on stage 0`
        : 'no contiguous split fits';
    throw new Error(
      `pipeline plan: no split into ${d} stages fits the memory budget of ${budget} bytes per stage (${detail}); raise the budget, use more stages or fewer microbatches`,
    );
  }
  const stages: PipelineStagePlan[] = [];
  let j = n;
  for (let s = d; s >= 1; s--) {
    const i = cut[s][j];
    stages.unshift({
      start: i,
      end: j,
      names: costs.slice(i, j).map((c) => c.name),
      timeMs: time(i, j),
      memoryBytes: memory(s - 1, i, j),
    });
    j = i;
  }
  return { mode, microbatches: m, stages, bottleneckMs: best[d][n] };
}
