export type { OptimizerSpec, ReplicaStepTimings } from './protocol.js';
export { type Shard, splitBatch } from './shards.js';
export { type ParallelTrainOptions, trainParallel } from './train-parallel.js';
export {
  defaultWorkerCount,
  MAX_WORKERS,
  type ParallelOptions,
  ParallelTrainer,
} from './trainer.js';
