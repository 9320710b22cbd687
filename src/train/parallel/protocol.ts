// Messages and shared memory between a ParallelTrainer (main thread) and its replicas (workers).
import type * as tf from '@tensorflow/tfjs';
import type { ResolvedLossName } from '../loss.js';
import type { OptimizerName } from '../optimizer.js';

/** An optimizer by name, so that every replica can build the same one. */
export interface OptimizerSpec {
  name: OptimizerName;
  learningRate: number;
}

/** Shapes of the weights a step exchanges, in `model.trainableWeights` / `nonTrainableWeights` order. */
export interface ExchangeLayout {
  trainable: number[][];
  /** Non-trainable weights (BatchNorm moving statistics): averaged over shards after each step. */
  state: number[][];
}

/** What a worker receives as `workerData`. */
export interface ReplicaInit {
  index: number;
  parties: number;
  backend: string;
  /** XNNPACK threads of this replica's wasm backend (its own pool); undefined: the single-thread build. */
  threads?: number;
  fastKernels: boolean;
  artifacts: tf.io.ModelArtifacts;
  optimizer: OptimizerSpec;
  /** The loss every replica differentiates (resolved on the main thread). */
  loss: ResolvedLossName;
  layout: ExchangeLayout;
  /** Barrier control (see barrier.ts), over a SharedArrayBuffer. */
  control: Int32Array;
  /** 2 (step parity) x parties slots of `slotLength(layout)` floats, over a SharedArrayBuffer. */
  exchange: Float32Array;
  /**
   * The trainable weights after each update (flattened, `model.trainableWeights` order), over a
   * SharedArrayBuffer: each replica writes the ranges it owns (see owned-ranges.ts).
   */
  published: Float32Array;
}

/** Where a replica's step time went, in ms. */
export interface ReplicaStepTimings {
  /** Forward and backward of its shard, and writing the gradient to shared memory. */
  gradientMs: number;
  /** Waiting for the other replicas at the two barriers. */
  waitMs: number;
  /**
   * Summing the gradients of its own ranges, the optimizer update of those ranges and publishing
   * them, reading every range back, averaging the moving statistics.
   */
  updateMs: number;
}

export type ToReplica =
  | {
      type: 'step';
      /** 1-based step number; every replica takes every step. */
      step: number;
      xs: Float32Array;
      xsShape: number[];
      ys: Float32Array;
      ysShape: number[];
      /** Rows of every replica's shard this step (the replica's own is `shardSizes[index]`). */
      shardSizes: number[];
    }
  | { type: 'weights'; id: number };

export type FromReplica =
  /** `threads`: the XNNPACK threads this replica's backend runs (1 without a threaded build). */
  | { type: 'ready'; threads: number }
  | { type: 'stepped'; step: number; loss: number; timings: ReplicaStepTimings }
  /** Every weight of the model, in `model.weights` order. */
  | { type: 'weights'; id: number; values: Float32Array[] }
  /**
   * `aborted`: the replica stopped because the run was aborted (another replica failed, or the
   * trainer closed), not because of an error of its own.
   */
  | { type: 'error'; message: string; aborted: boolean };

export function elementCount(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function trainableLength(layout: ExchangeLayout): number {
  let n = 0;
  for (const s of layout.trainable) n += elementCount(s);
  return n;
}

/** Floats one replica writes per step: its gradients, then its non-trainable weights. */
export function slotLength(layout: ExchangeLayout): number {
  let n = 0;
  for (const s of layout.trainable) n += elementCount(s);
  for (const s of layout.state) n += elementCount(s);
  return n;
}

/**
 * The slot replica `index` writes at `step`. Double-buffered by step parity: replicas read the
 * moving statistics of the slots after the step's last barrier, when a faster replica may already
 * write its slot of the next step.
 */
export function exchangeSlot(
  exchange: Float32Array,
  layout: ExchangeLayout,
  parties: number,
  step: number,
  index: number,
): Float32Array {
  const len = slotLength(layout);
  const offset = ((step % 2) * parties + index) * len;
  return exchange.subarray(offset, offset + len);
}
