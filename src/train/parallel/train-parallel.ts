import type * as tf from '@tensorflow/tfjs';
import type { ClassificationData } from '../../data/dataset.js';
import { type TrainConfig, validateTrainConfig } from '../config.js';
import { type Stepper, type TrainOptions, type TrainResult, train } from '../loop.js';
import { type ParallelOptions, ParallelTrainer } from './trainer.js';

export interface ParallelTrainOptions extends Pick<TrainOptions, 'onProgress'> {
  workers?: number;
  backend?: ParallelOptions['backend'];
  fastKernels?: ParallelOptions['fastKernels'];
  threadsPerWorker?: ParallelOptions['threadsPerWorker'];
}

/**
 * `train` with data-parallel steps on worker threads (see ParallelTrainer): same batches, same
 * schedule, evaluation on this thread after each epoch. The optimizer is built in every worker
 * from `config.optimizer` and `config.learningRate`. No step is measured by the memory meter.
 * BatchNorm layers normalise each shard with its own statistics; their moving statistics are
 * averaged over the shards after every step.
 */
export async function trainParallel(
  model: tf.LayersModel,
  data: ClassificationData,
  config: Partial<TrainConfig> = {},
  options: ParallelTrainOptions = {},
): Promise<TrainResult> {
  return trainOnWorkers(model, data, config, options.onProgress, (c) =>
    ParallelTrainer.create(model, {
      workers: options.workers,
      optimizer: { name: c.optimizer, learningRate: c.learningRate },
      backend: options.backend,
      fastKernels: options.fastKernels,
      threadsPerWorker: options.threadsPerWorker,
      loss: c.loss,
    }),
  );
}

/**
 * `train` with the steps taken by workers: `start` gets the checked config (memory meter off, no
 * step runs on this thread) and starts the trainer, which is closed when training ends or fails.
 */
export async function trainOnWorkers(
  model: tf.LayersModel,
  data: ClassificationData,
  config: Partial<TrainConfig>,
  onProgress: TrainOptions['onProgress'],
  start: (c: TrainConfig) => Promise<Stepper & { close(): Promise<void> }>,
): Promise<TrainResult> {
  const c = { ...validateTrainConfig(config), measureMemory: false };
  const trainer = await start(c);
  try {
    return await train(model, data, c, { onProgress, stepper: trainer });
  } finally {
    await trainer.close();
  }
}
