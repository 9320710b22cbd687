// Pipeline parallelism, Node-only parts: the trainer (its stages run in worker threads).
export type { StageRunStats } from './protocol.js';
export { type PipelineTrainOptions, trainPipelined } from './train-pipelined.js';
export { type PipelineOptions, type PipelineRunReport, PipelineTrainer } from './trainer.js';
