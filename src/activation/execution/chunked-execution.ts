import * as tf from '@tensorflow/tfjs';
import type { ForwardFn } from '../../train/step.js';
import { type ChunkContext, inChunk } from '../backward/weight-grad-sink.js';
import { withConstantInputs } from './constant-inputs.js';
import { outsideGradient } from './fused.js';
import { sliceRows } from './row-chunks.js';

/** Layer classes whose training forward mixes samples (batch statistics), so chunks would differ. */
const BATCH_DEPENDENT = /BatchNorm/;

/** Names of the layers of `model` whose training output depends on other samples of the batch. */
export function batchDependentLayers(model: tf.LayersModel): string[] {
  return model.layers.filter((l) => BATCH_DEPENDENT.test(l.getClassName())).map((l) => l.name);
}

/** Float32 bytes per sample of the largest layer output of `model` (its widest activation). */
export function widestActivationBytes(model: tf.LayersModel): number {
  let widest = 0;
  for (const layer of model.layers) {
    const shapes = (
      Array.isArray(layer.outputShape[0]) ? layer.outputShape : [layer.outputShape]
    ) as tf.Shape[];
    for (const shape of shapes) {
      const perSample = shape.slice(1).reduce<number>((a, d) => a * (d ?? 1), 1);
      widest = Math.max(widest, 4 * perSample);
    }
  }
  return widest;
}

/** Samples per chunk such that the widest layer output of one chunk takes at most `bytes`. */
export function chunkRowsFor(model: tf.LayersModel, bytes: number): number {
  if (!Number.isFinite(bytes) || bytes <= 0)
    throw new Error(`chunked execution: chunk bytes must be a positive number, got ${bytes}`);
  return Math.max(1, Math.floor(bytes / Math.max(1, widestActivationBytes(model))));
}

/**
 * A training forward that runs `forward` on `rows` samples at a time and joins the outputs, all
 * on one gradient tape: every chunk's layers save their (compressed) state for the one backward,
 * and the backward then runs chunk by chunk in reverse. The gradients are those of the whole batch
 * (each sample's contribution is computed exactly as unchunked; weight gradients add up), but no
 * float32 intermediate larger than one chunk exists in the forward or in the backward, so a step's
 * peak is the saved state of the batch plus one chunk's temporaries: the memory that compression
 * saves becomes batch size. Only for models whose layers treat samples independently (see
 * `batchDependentLayers`): batch-norm statistics would be those of a chunk.
 * Inference (`training` false) and batches of at most `rows` samples run unchunked. No gradient
 * flows to `xs` (the batch is data).
 */
export function chunkedForward(forward: ForwardFn, rows: number): ForwardFn {
  if (!Number.isInteger(rows) || rows < 1)
    throw new Error(`chunked execution: rows per chunk must be a positive integer, got ${rows}`);
  return (xs, training) => {
    const n = xs.shape[0];
    if (!training || n <= rows) return forward(xs, training);
    return tf.tidy(() => {
      const outs: tf.Tensor[] = [];
      const count = Math.ceil(n / rows);
      const sums: ChunkContext['sums'] = new Map();
      const zeros: ChunkContext['zeros'] = new Map();
      const factors: ChunkContext['factors'] = new Map();
      for (let first = 0; first < n; first += rows) {
        // The batch is data, not a variable: slicing it off the tape keeps the tape from saving
        // a copy of the whole batch per chunk (tfjs's Slice gradient saves its input).
        const part = outsideGradient(() => sliceRows(xs, first, Math.min(rows, n - first)));
        const chunk = { index: outs.length, count, sums, zeros, factors };
        // Its gradient goes nowhere (it is off the tape): the first layer may skip computing it.
        outs.push(inChunk(chunk, () => withConstantInputs([part], () => forward(part, true))));
        part.dispose();
      }
      const y = tf.concat(outs, 0);
      tf.dispose(outs);
      return y;
    });
  };
}
