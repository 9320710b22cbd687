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
  return Math.max(0, ...model.layers.map(outputBytes));
}

/** Samples per chunk such that the widest layer output of one chunk takes at most `bytes`. */
export function chunkRowsFor(model: tf.LayersModel, bytes: number): number {
  if (!Number.isFinite(bytes) || bytes <= 0)
    throw new Error(`chunked execution: chunk bytes must be a positive number, got ${bytes}`);
  return Math.max(1, Math.floor(bytes / Math.max(1, widestActivationBytes(model))));
}

/**
 * Where a chunked forward of a Sequential `model` can change to larger chunks: `cut` is the first
 * layer of the suffix, which runs on the joined outputs of `group` chunks, because its input and
 * every output after it are at most 1 / `group` of the widest layer output (the CNN's dense head
 * after the max pool: 4 times narrower). The suffix's chunks then hold no more float32 bytes than
 * the prefix's, and a Dense layer there multiplies its weights with `group` times more rows at
 * once (a thin product reads the whole weight matrix per chunk). Null when no layer is that much
 * narrower, or for a functional model.
 */
export function forwardSplit(model: tf.LayersModel): { cut: number; group: number } | null {
  if (!(model instanceof tf.Sequential)) return null;
  const widths = model.layers.map(outputBytes);
  const widest = Math.max(...widths);
  for (let k = 1; k < widths.length; k++) {
    const group = Math.floor(widest / Math.max(1, ...widths.slice(k - 1)));
    if (group >= 2) return { cut: k, group };
  }
  return null;
}

/** The second level of a two-level chunked forward (see `forwardSplit`). */
export interface ForwardSuffix {
  /** The rest of the model, from the prefix's output on. */
  forward: ForwardFn;
  /** Prefix chunks joined per suffix chunk. */
  group: number;
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
 * With `suffix`, `forward` is the model's first layers only: each `suffix.group` of its chunk
 * outputs are joined (on the tape) and run through `suffix.forward` at once, right after the last
 * of them, as one chunk of a second chunked level.
 * Inference (`training` false) and batches of at most `rows` samples run unchunked. No gradient
 * flows to `xs` (the batch is data).
 */
export function chunkedForward(
  forward: ForwardFn,
  rows: number,
  suffix?: ForwardSuffix,
): ForwardFn {
  if (!Number.isInteger(rows) || rows < 1)
    throw new Error(`chunked execution: rows per chunk must be a positive integer, got ${rows}`);
  if (suffix && !(Number.isInteger(suffix.group) && suffix.group >= 1))
    throw new Error(
      `chunked execution: suffix group must be a positive integer, got ${suffix.group}`,
    );
  return (xs, training) => {
    const n = xs.shape[0];
    if (!training || n <= rows)
      return suffix
        ? tf.tidy(() => suffix.forward(forward(xs, training), training))
        : forward(xs, training);
    return tf.tidy(() => {
      const outs: tf.Tensor[] = [];
      const levels = [rows, rows * (suffix?.group ?? 1)].map((r) => ({
        count: Math.ceil(n / r),
        rows: r,
        total: n,
        sums: new Map(),
        zeros: new Map(),
        factors: new Map(),
      }));
      const at = (level: number, index: number): ChunkContext => {
        const r = levels[level].rows;
        return { ...levels[level], index, first: index * r, samples: Math.min(r, n - index * r) };
      };
      let joined: tf.Tensor[] = [];
      for (let first = 0, index = 0; first < n; first += rows, index++) {
        // The batch is data, not a variable: slicing it off the tape keeps the tape from saving
        // a copy of the whole batch per chunk (tfjs's Slice gradient saves its input).
        const part = outsideGradient(() => sliceRows(xs, first, Math.min(rows, n - first)));
        const chunk = at(0, index);
        // Its gradient goes nowhere (it is off the tape): the first layer may skip computing it.
        const out = inChunk(chunk, () => withConstantInputs([part], () => forward(part, true)));
        part.dispose();
        if (!suffix) {
          outs.push(out);
          continue;
        }
        joined.push(out);
        if (joined.length < suffix.group && first + rows < n) continue;
        const x = joined.length === 1 ? joined[0] : joinRows(joined);
        if (joined.length > 1) tf.dispose(joined);
        joined = [];
        outs.push(inChunk(at(1, outs.length), () => suffix.forward(x, true)));
        x.dispose();
      }
      const y = tf.concat(outs, 0);
      tf.dispose(outs);
      return y;
    });
  };
}

/**
 * The rows of `parts` in one tensor, on the tape: its gradient is dy split back into the parts'
 * rows, and dy is freed then (tfjs keeps every upstream gradient until the whole backward ends:
 * the joined gradients of all the chunks, a float32 copy of the batch). tf.concat's gradient would
 * also save every input for its shape (the prefix chunks' float32 outputs, until the backward).
 */
function joinRows(parts: tf.Tensor[]): tf.Tensor {
  const rows = parts.map((p) => p.shape[0]);
  // A dy made by the backward has a larger id than every forward tensor (see compressedOp).
  let outputId = Number.POSITIVE_INFINITY;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const value = tf.concat(args.slice(0, -1) as tf.Tensor[], 0);
    outputId = value.id;
    return {
      value,
      gradFunc: (dy: tf.Tensor | tf.Tensor[]) => {
        const g = Array.isArray(dy) ? dy[0] : dy;
        // Row slices, not tf.split: tfjs-wasm's SplitV copies all of dy out of the heap for
        // every piece (its inner slice reads the whole input); Slice runs frugal's heap copy.
        let first = 0;
        const pieces = rows.map((r) => {
          const piece = sliceRows(g, first, r);
          first += r;
          return piece;
        });
        if (g.id > outputId) g.dispose();
        return pieces;
      },
    };
  });
  return op(...parts);
}

function outputBytes(layer: tf.layers.Layer): number {
  const shapes = (
    Array.isArray(layer.outputShape[0]) ? layer.outputShape : [layer.outputShape]
  ) as tf.Shape[];
  return Math.max(...shapes.map((s) => 4 * s.slice(1).reduce<number>((a, d) => a * (d ?? 1), 1)));
}
