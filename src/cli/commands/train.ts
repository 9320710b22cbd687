import * as tf from '@tensorflow/tfjs';
import { loadDataset } from '../../data/load.js';
import { initEngine } from '../../engine/backend.js';
import { writeJsonAtomic } from '../../io/atomic-write.js';
import { saveModel } from '../../io/model-files.js';
import { useFastKernels, useStockKernels } from '../../kernels/index.js';
import { buildModel, isZooModel, ZOO_LAYOUT, ZOO_MODELS } from '../../models/zoo.js';
import { fixed, mb, pct } from '../../report/format.js';
import { type TrainResult, train } from '../../train/loop.js';
import type { OptimizerName } from '../../train/optimizer.js';
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
  /** frugal's fast training kernels (default on; `--no-fast-kernels` turns them off). */
  fastKernels?: boolean;
}

export interface TrainReport {
  tool: 'frugal train';
  backend: string;
  fastKernels: boolean;
  model: string;
  dataset: string;
  parameters: number;
  result: TrainResult;
}

/** `frugal train`: builds a zoo model, trains it, prints the table, writes the JSON report. */
export async function trainCommand(o: TrainCommandOptions): Promise<TrainReport> {
  if (!isZooModel(o.model))
    throw new Error(`Unknown model '${o.model}': choose one of ${ZOO_MODELS.join(', ')}`);
  const engine = await initEngine({ backend: o.backend, seed: o.seed });
  if (o.fastKernels === false) useStockKernels();
  else useFastKernels();
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
      { onProgress: bar.onProgress },
    );
  } finally {
    bar.stop();
  }
  const report: TrainReport = {
    tool: 'frugal train',
    backend: engine.backend,
    fastKernels: o.fastKernels !== false,
    model: o.model,
    dataset: data.name,
    parameters: model.countParams(),
    result,
  };
  const m = result.memory;
  console.log(
    renderTable(
      [
        'model',
        'backend',
        'kernels',
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
          report.fastKernels ? 'fast' : 'stock',
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
