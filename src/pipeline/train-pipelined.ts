import type * as tf from '@tensorflow/tfjs';
import type { ClassificationData } from '../data/dataset.js';
import type { TrainConfig } from '../train/config.js';
import type { TrainOptions, TrainResult } from '../train/loop.js';
import { trainOnWorkers } from '../train/parallel/train-parallel.js';
import { type PipelineOptions, PipelineTrainer } from './trainer.js';

export interface PipelineTrainOptions
  extends Pick<TrainOptions, 'onProgress'>,
    Omit<PipelineOptions, 'optimizer' | 'loss'> {}

/**
 * `train` with pipelined steps (see PipelineTrainer): the model cut into `stages` stages on worker
 * threads, each batch split into `microbatches`, scheduled by `schedule` ('2bw' default: weights
 * double-buffered, each update one step stale; 'flush' / 'gpipe': plain training with gradient
 * accumulation). Same batches and evaluation as `train`; the optimizer is built in every stage
 * from `config.optimizer` and `config.learningRate`. Each step is one batch, so the pipeline
 * drains between batches (PipelineTrainer.runBatches streams several). No step is measured by
 * the memory meter.
 */
export async function trainPipelined(
  model: tf.LayersModel,
  data: ClassificationData,
  config: Partial<TrainConfig> = {},
  options: PipelineTrainOptions = {},
): Promise<TrainResult> {
  const { onProgress, ...pipeline } = options;
  return trainOnWorkers(model, data, config, onProgress, (c) =>
    PipelineTrainer.create(model, {
      ...pipeline,
      optimizer: { name: c.optimizer, learningRate: c.learningRate },
      loss: c.loss,
    }),
  );
}
