import * as tf from '@tensorflow/tfjs';
import { batches } from '../../data/dataset.js';
import { loadDataset } from '../../data/load.js';
import { initEngine } from '../../engine/backend.js';
import { writeJsonAtomic } from '../../io/atomic-write.js';
import { buildModel, isZooModel, ZOO_LAYOUT, ZOO_MODELS } from '../../models/zoo.js';
import { formatBytes } from '../../remat/budget.js';
import { planRemat } from '../../remat/plan-model.js';
import { type PlanSummary, planLine, summarizePlan } from '../../remat/summary.js';
import { makeOptimizer, type OptimizerName } from '../../train/optimizer.js';
import { renderTable } from '../table.js';

export interface PlanCommandOptions {
  model: string;
  dataset: string;
  batch: number;
  memoryBudget: number;
  remat: 'exact' | 'joint';
  optimizer: OptimizerName;
  backend: string;
  seed: number;
  repeats: number;
  out?: string;
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
      `${err.message}: conv models cannot train on stock ${backend}; use --backend cpu (or the fast kernels)`,
    );
  return err;
}

/**
 * `frugal plan`: profiles a zoo model's chain of stages on one batch, plans a training step
 * within the memory budget, prints the per-stage costs, the schedule and its predicted time and
 * activation memory. Writes nothing but the optional JSON report.
 */
export async function planCommand(o: PlanCommandOptions): Promise<PlanReport> {
  if (!isZooModel(o.model))
    throw new Error(`Unknown model '${o.model}': choose one of ${ZOO_MODELS.join(', ')}`);
  const engine = await initEngine({ backend: o.backend, seed: o.seed });
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
  const batch = batches(data, 'train', o.batch).next().value;
  if (!batch) throw new Error('no batch to profile');
  const optimizer = makeOptimizer(o.optimizer, 1e-3);
  try {
    const compressedBits = o.remat === 'joint' ? [8, 4, 2] : [];
    // Plans on both chains (residual blocks whole, and split inside them), as `train` does.
    let planned: ReturnType<typeof planRemat>;
    try {
      planned = planRemat(model, batch, o.memoryBudget, {
        modes: o.remat,
        repeats: o.repeats,
        optimizer,
        compressedBits,
      });
    } catch (e) {
      throw explainKernelError(e, engine.backend);
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
    tf.dispose([batch.xs, batch.ys]);
    optimizer.dispose();
    model.dispose();
  }
}
