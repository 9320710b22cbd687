import * as tf from '@tensorflow/tfjs';
import { batches } from '../../data/dataset.js';
import { loadDataset } from '../../data/load.js';
import { initEngine } from '../../engine/backend.js';
import { writeJsonAtomic } from '../../io/atomic-write.js';
import { saveModel } from '../../io/model-files.js';
import { buildModel, isZooModel, ZOO_LAYOUT, ZOO_MODELS } from '../../models/zoo.js';
import { planRemat } from '../../remat/plan-model.js';
import { type PlanSummary, planLine, summarizePlan } from '../../remat/summary.js';
import { fixed, mb, pct } from '../../report/format.js';
import { type TrainResult, train } from '../../train/loop.js';
import { makeOptimizer, type OptimizerName } from '../../train/optimizer.js';
import { progressBar } from '../progress-bar.js';
import { renderTable } from '../table.js';

export interface TrainCommandOptions {
  model: string;
  dataset: string;
  epochs: number;
  batch: number;
  lr: number;
  optimizer: OptimizerName;
  backend: string;
  seed: number;
  trainCount?: number;
  testCount?: number;
  maxSteps: number;
  out?: string;
  save?: string;
  progress: boolean;
  /** Activation memory budget in bytes: plan each step to fit it (rematerialization). */
  memoryBudget?: number;
  remat?: 'exact' | 'joint';
}

export interface TrainReport {
  tool: 'frugal train';
  backend: string;
  model: string;
  dataset: string;
  parameters: number;
  result: TrainResult;
  /** The memory plan, when trained under --memory-budget. */
  remat?: PlanSummary;
}

/** `frugal train`: builds a zoo model, trains it, prints the table, writes the JSON report. */
export async function trainCommand(o: TrainCommandOptions): Promise<TrainReport> {
  if (!isZooModel(o.model))
    throw new Error(`Unknown model '${o.model}': choose one of ${ZOO_MODELS.join(', ')}`);
  const engine = await initEngine({ backend: o.backend, seed: o.seed });
  const data = loadDataset(o.dataset, {
    layout: ZOO_LAYOUT[o.model],
    trainCount: o.trainCount,
    testCount: o.testCount,
    seed: o.seed,
  });
  const model = buildModel(o.model, {
    inputShape: data.sampleShape,
    numClasses: data.numClasses,
    seed: o.seed,
  });
  const optimizer = makeOptimizer(o.optimizer, o.lr);
  let remat: ReturnType<typeof planRemat> | undefined;
  if (o.memoryBudget !== undefined) {
    const sample = batches(data, 'train', o.batch).next().value;
    if (!sample) throw new Error('no training batch to plan with');
    try {
      remat = planRemat(model, sample, o.memoryBudget, { modes: o.remat, optimizer });
    } finally {
      tf.dispose([sample.xs, sample.ys]);
    }
    console.log(planLine(summarizePlan(remat.plan, remat.profile.costs)));
  }
  const bar = progressBar(o.progress && process.stderr.isTTY === true);
  let result: TrainResult;
  try {
    result = await train(
      model,
      data,
      {
        epochs: o.epochs,
        batchSize: o.batch,
        learningRate: o.lr,
        optimizer: o.optimizer,
        seed: o.seed,
        maxStepsPerEpoch: o.maxSteps,
      },
      { onProgress: bar.onProgress, forward: remat?.forward, optimizer },
    );
  } finally {
    bar.stop();
    optimizer.dispose();
  }
  const report: TrainReport = {
    tool: 'frugal train',
    backend: engine.backend,
    model: o.model,
    dataset: data.name,
    parameters: model.countParams(),
    result,
    remat: remat ? summarizePlan(remat.plan, remat.profile.costs) : undefined,
  };
  const m = result.memory;
  console.log(
    renderTable(
      [
        'model',
        'backend',
        'params',
        'test acc',
        'step ms',
        'samples/s',
        'saved act MB',
        'act MB',
        'peak MB',
      ],
      [
        [
          o.model,
          engine.backend,
          report.parameters,
          pct(result.testAccuracy),
          fixed(result.meanStepMs),
          fixed(result.samplesPerSecond, 0),
          m ? mb(m.savedActivationBytes) : 'n/a',
          m ? mb(m.activationBytes) : 'n/a',
          m ? mb(m.peakBytes) : 'n/a',
        ],
      ],
    ),
  );
  if (o.out) {
    writeJsonAtomic(o.out, report);
    console.log(`report written to ${o.out}`);
  }
  if (o.save) {
    await saveModel(model, o.save);
    console.log(`model saved to ${o.save}`);
  }
  model.dispose();
  return report;
}

export function leakCheck(): number {
  return tf.memory().numTensors;
}
