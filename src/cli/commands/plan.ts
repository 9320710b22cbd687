import type { ActivationBits } from '../../activation/codec/bits.js';
import { loadDataset } from '../../data/load.js';
import { writeJsonAtomic } from '../../io/atomic-write.js';
import { buildModel, isZooModel, ZOO_LAYOUT, ZOO_MODELS } from '../../models/zoo.js';
import { formatBytes } from '../../remat/budget.js';
import type { RematPlan } from '../../remat/plan-model.js';
import { type PlanSummary, planLine, summarizePlan } from '../../remat/summary.js';
import { makeOptimizer, type OptimizerName } from '../../train/optimizer.js';
import { planTrainingStep, startEngine } from '../memory-plan.js';
import { progressWanted, taskLines } from '../progress-bar.js';
import { renderTable } from '../table.js';
import { rematTapeBits } from './train.js';

export interface PlanCommandOptions {
  model: string;
  dataset: string;
  batch: number;
  memoryBudget: number;
  /** As for train: exact (the default) or joint; --act-bits 2, 4 or 8 implies joint. */
  remat?: 'exact' | 'joint';
  /** As for train --memory-budget: the bits of the planner's compressed tapes (32: exact only). */
  actBits?: ActivationBits;
  optimizer: OptimizerName;
  backend: string;
  seed: number;
  repeats: number;
  out?: string;
  /** frugal's fast training kernels (default on, as for train). */
  fastKernels?: boolean;
  /** Progress lines on stderr when it is a terminal (default on). */
  progress?: boolean;
}

export interface PlanReport {
  tool: 'frugal plan';
  backend: string;
  model: string;
  batch: number;
  stages: { name: string; fwdMs: number; bwdMs: number; inputBytes: number; tapeBytes: number }[];
  plan: PlanSummary;
}

/** Adds a hint to the error stock wasm gives for conv training. */
function explainKernelError(e: unknown, backend: string): Error {
  const err = e as Error;
  if (/Conv2DBackpropFilter/.test(err.message))
    return new Error(
      `${err.message}: conv models cannot train on stock ${backend} kernels; drop --no-fast-kernels or use --backend cpu`,
    );
  return err;
}

/**
 * `frugal plan`: the memory plan `train --memory-budget` would train with (same engine, kernels,
 * profiling and planner options: one function, `planTrainingStep`), on one batch; prints the
 * per-stage costs, the schedule and its predicted time and activation memory. Writes nothing but
 * the optional JSON report.
 */
export async function planCommand(o: PlanCommandOptions): Promise<PlanReport> {
  if (!isZooModel(o.model))
    throw new Error(`Unknown model '${o.model}': choose one of ${ZOO_MODELS.join(', ')}`);
  const rematBits = rematTapeBits(o);
  const engine = await startEngine(o);
  const data = loadDataset(o.dataset, {
    layout: ZOO_LAYOUT[o.model],
    trainCount: o.batch,
    testCount: 1,
    seed: o.seed,
  });
  const model = buildModel(o.model, {
    inputShape: data.sampleShape,
    numClasses: data.numClasses,
    seed: o.seed,
  });
  const optimizer = makeOptimizer(o.optimizer, 1e-3);
  const tasks = taskLines(progressWanted(o.progress));
  try {
    let planned: RematPlan;
    try {
      planned = planTrainingStep(model, data, {
        ...rematBits,
        batch: o.batch,
        memoryBudget: o.memoryBudget,
        optimizer,
        repeats: o.repeats,
        onProgress: tasks.onProgress,
      });
    } catch (e) {
      throw explainKernelError(e, engine.backend);
    } finally {
      tasks.stop();
    }
    const { plan } = planned;
    const costs = planned.profile.costs;
    const stages = costs.stages.map((s) => ({
      name: s.name,
      fwdMs: s.fwdMs,
      bwdMs: s.keep[0].bwdMs,
      inputBytes: s.inputBytes,
      tapeBytes: s.keep[0].tapeBytes,
    }));
    console.log(
      renderTable(
        ['stage', 'fwd ms', 'bwd ms', 'input', 'kept for backward'],
        stages.map((s) => [
          s.name,
          s.fwdMs.toFixed(2),
          s.bwdMs.toFixed(2),
          formatBytes(s.inputBytes),
          formatBytes(s.tapeBytes),
        ]),
      ),
    );
    const summary = summarizePlan(plan, costs);
    console.log(`schedule: ${summary.schedule}`);
    console.log(planLine(summary));
    console.log(
      `least workable budget: ${formatBytes(summary.minimumBytes)}; ` +
        `activation memory counts the step's peak minus weights, gradients, optimizer state and the batch (${engine.backend}, batch ${o.batch})`,
    );
    const report: PlanReport = {
      tool: 'frugal plan',
      backend: engine.backend,
      model: o.model,
      batch: o.batch,
      stages,
      plan: summary,
    };
    if (o.out) {
      writeJsonAtomic(o.out, report);
      console.log(`report written to ${o.out}`);
    }
    return report;
  } finally {
    optimizer.dispose();
    model.dispose();
  }
}
