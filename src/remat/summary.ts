import { formatBytes } from './budget.js';
import type { ChainCosts } from './costs.js';
import type { Plan } from './rotor.js';
import { formatOp, type Op, type Prediction, simulate } from './schedule.js';

/** The schedule that keeps every stage (exact): no recomputation, the most memory. */
export function keepEverything(stages: number): Op[] {
  const ops: Op[] = [];
  for (let i = 0; i < stages; i++) ops.push({ kind: 'fall', stage: i, mode: 0 });
  for (let i = stages - 1; i >= 0; i--) ops.push({ kind: 'b', stage: i, mode: 0 });
  return ops;
}

/** Plain-data description of a plan, for reports and CLI output. */
export interface PlanSummary {
  budgetBytes: number;
  predicted: Prediction;
  /** The same chain with nothing recomputed, predicted on the same costs. */
  keepAll: Prediction;
  /** predicted time / keep-all time - 1. */
  predictedOverhead: number;
  minimumBytes: number;
  recomputedForwards: number;
  compressedStages: number;
  schedule: string;
}

export function summarizePlan(plan: Plan, costs: ChainCosts): PlanSummary {
  const keepAll = simulate(costs, keepEverything(costs.stages.length));
  return {
    budgetBytes: plan.budgetBytes,
    predicted: plan.predicted,
    keepAll,
    predictedOverhead: plan.predicted.timeMs / keepAll.timeMs - 1,
    minimumBytes: plan.minimumBytes,
    recomputedForwards: plan.ops.filter((o) => o.kind !== 'b').length - costs.stages.length,
    compressedStages: plan.ops.filter((o) => o.kind === 'fall' && o.mode > 0).length,
    schedule: plan.ops.map((o) => formatOp(o, costs)).join(' '),
  };
}

/** One line: budget, predicted peak and time, overhead against keeping everything. */
export function planLine(s: PlanSummary): string {
  return (
    `memory plan: budget ${formatBytes(s.budgetBytes)}, predicted activation peak ` +
    `${formatBytes(s.predicted.peakBytes)} (keep-all ${formatBytes(s.keepAll.peakBytes)}), ` +
    `predicted step ${s.predicted.timeMs.toFixed(1)} ms (${s.predictedOverhead >= 0 ? '+' : ''}${(100 * s.predictedOverhead).toFixed(1)}% vs keep-all), ` +
    `${s.recomputedForwards} recomputed stage forwards, ${s.compressedStages} compressed tapes`
  );
}
