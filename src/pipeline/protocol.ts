// Messages between a PipelineTrainer (main thread) and its stage workers, and between neighbouring
// stages (over MessageChannel ports: activations forward, their gradients back).
import type { MessagePort } from 'node:worker_threads';
import type * as tf from '@tensorflow/tfjs';
import type { ResolvedLossName } from '../train/loss.js';
import type { OptimizerSpec } from '../train/parallel/protocol.js';
import type { PipelineMode } from './schedule.js';

export interface StageInit {
  index: number;
  stages: number;
  mode: PipelineMode;
  /** Chain stages [start, end) of `buildChain(model)` this worker runs. */
  start: number;
  end: number;
  /** Names of the chain stages of the whole model, to check the worker cut the same chain. */
  chainNames: string[];
  backend: string;
  fastKernels: boolean;
  artifacts: tf.io.ModelArtifacts;
  optimizer: OptimizerSpec;
  loss: ResolvedLossName;
  /** To the previous stage (absent on stage 0) and to the next (absent on the last). */
  prev?: MessagePort;
  next?: MessagePort;
}

/** One microbatch's rows, flattened. */
export interface Rows {
  values: Float32Array;
  shape: number[];
}

export type ToStage =
  | {
      type: 'run';
      id: number;
      /** Global index of the run's first batch (versions continue across runs). */
      firstBatch: number;
      batches: number;
      microbatches: number;
      /** Rows of each batch (the loss of each microbatch is scaled by its rows / batch rows). */
      batchRows: number[];
      /** Stage 0: every microbatch's inputs, in order. */
      inputs?: Rows[];
      /** Last stage: every microbatch's targets, in order. */
      targets?: Rows[];
    }
  | { type: 'weights'; id: number };

/** Between neighbouring stages: an activation (forward) or its gradient (backward). */
export interface Hop {
  kind: 'act' | 'grad';
  mb: number;
  rows: Rows;
}

export interface StageRunStats {
  /** Most weight versions the stage held at once during the run. */
  maxVersions: number;
  /** Most microbatches whose activations it held at once. */
  maxInFlight: number;
  /** Versions each microbatch's forward and backward used: [mb, forward, backward]. */
  versionLog: [number, number, number][];
  /** Milliseconds of forward, backward and update work. */
  fwdMs: number;
  bwdMs: number;
  updateMs: number;
  /** Live tensors in the worker after the run. */
  numTensors: number;
}

export type FromStage =
  | { type: 'ready' }
  | { type: 'ran'; id: number; losses: number[]; stats: StageRunStats }
  /** Weights of the stage's layers (trainable, then batch-norm statistics): indices into `model.weights`. */
  | { type: 'weights'; id: number; indices: number[]; values: Float32Array[] }
  | { type: 'error'; message: string };
