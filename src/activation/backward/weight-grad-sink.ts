import * as tf from '@tensorflow/tfjs';
import { heapView, tensorFilledBy, withValues } from '../codec/js-memory.js';

/**
 * Which chunk of a chunked forward is running (see `chunkedForward`). A compressed op records it
 * at forward time; its backward then sums its weight gradients across chunks here.
 */
export interface ChunkContext {
  /** Position of the chunk in the forward (0 = first; its backward runs last). */
  index: number;
  /** Number of chunks of this forward. */
  count: number;
  /** The chunk's first sample and its samples; samples of a full chunk; samples of the batch. */
  first: number;
  samples: number;
  rows: number;
  total: number;
  /** Weight-gradient sums of the chunks whose backward already ran, by variable id. */
  sums: Map<number, tf.Tensor>;
  /** One zero tensor per anchor weight, handed to the tape as views by later chunks. */
  zeros: Map<number, tf.Tensor>;
  /** Deferred weight-gradient products (`chunkWeightProduct`), by weight id. */
  factors: Map<number, DeferredFactors>;
}

/**
 * A deferred product's factors: each later chunk's b, and its a either as a copy (`a`) or, on
 * wasm, written transposed into the columns of one [in, rows of the batch] buffer (`aT`): then
 * no copy of a's rows and no transposed copy of them exist beside each other at chunk 0.
 */
export interface DeferredFactors {
  a: tf.Tensor2D[];
  b: tf.Tensor2D[];
  aT: tf.Tensor2D | null;
}

/**
 * The weight gradient a^T b of `weight` for one chunk of a chunked forward, where a weight-sized
 * sum per chunk would cost more than keeping the chunk's factors: a Dense kernel much larger than
 * the batch's rows (the CNN's 9216x128 head: summing 4.7 MB partial products holds three of them
 * at once, while the whole batch's rows take 1.2 MB). A later chunk keeps its factors and returns
 * null (its gradient is deferred); chunk 0, whose backward runs last, returns the product of all
 * chunks' rows at once, equal to the sum of the per-chunk products up to float rounding order.
 * Whether to defer depends on the full chunk's rows, so every chunk of a forward agrees. Outside
 * a chunked forward, or when summing is cheaper, the product itself. Takes ownership of `a` and
 * `b`; `product(a, b)` computes a^T b, `productT(aT, b)` the same from a^T (defaults: tf.matMul).
 */
export function chunkWeightProduct(
  chunk: ChunkContext | null,
  weight: tf.Tensor,
  a: tf.Tensor2D,
  b: tf.Tensor2D,
  product: (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor = (x, y) => tf.matMul(x, y, true),
  productT: (aT: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor = (x, y) => tf.matMul(x, y),
): tf.Tensor | null {
  const now = (x: tf.Tensor2D, y: tf.Tensor2D): tf.Tensor => {
    const p = product(x, y);
    tf.dispose([x, y]);
    return p;
  };
  if (chunk === null || chunk.count < 2) return now(a, b);
  const [inDim, outDim] = [a.shape[1], b.shape[1]];
  // Rows of a per sample (a Dense layer on [n, t, d] inputs has t rows a sample).
  const perSample = a.shape[0] / chunk.samples;
  const defer =
    Number.isInteger(perSample) &&
    chunk.count * chunk.rows * perSample * (inDim + outDim) <= 2 * inDim * outDim;
  const stash = chunk.factors.get(weight.id);
  if (!stash && (!defer || chunk.index === 0)) return now(a, b);
  const st = stash ?? { a: [], b: [], aT: null };
  if (st.a.length === 0 && st.b.length === 0 && a.dtype === 'float32' && heapView(a) !== null)
    st.aT ??= tf.keep(tensorFilledBy([inDim, chunk.total * perSample], () => {}) as tf.Tensor2D);
  if (st.aT !== null) writeColumns(st.aT, a, chunk.first * perSample);
  else if (chunk.index > 0) st.a.push(tf.keep(tf.add(a, 0)));
  if (chunk.index > 0) {
    // Own copies, as a precaution: the restored rows may be views of buffers that the backward's
    // in-place writers (row writers, fan-in sums) reuse after this op.
    st.b.push(tf.keep(tf.add(b, 0)));
    tf.dispose([a, b]);
    chunk.factors.set(weight.id, st);
    return null;
  }
  chunk.factors.delete(weight.id);
  if (st.aT !== null) {
    // The columns are in sample order; the later chunks' b came last chunk first.
    a.dispose();
    const allB = tf.concat([b, ...st.b.reverse()], 0) as tf.Tensor2D;
    tf.dispose([b, ...st.b]);
    const p = productT(st.aT, allB);
    tf.dispose([st.aT, allB]);
    return p;
  }
  const allA = tf.concat([a, ...st.a], 0) as tf.Tensor2D;
  tf.dispose([a, ...st.a]);
  const allB = tf.concat([b, ...st.b], 0) as tf.Tensor2D;
  tf.dispose([b, ...st.b]);
  return now(allA, allB);
}

/** Writes a^T into columns `col` .. of `aT` (both in the wasm backend's memory; no tfjs op). */
function writeColumns(aT: tf.Tensor2D, a: tf.Tensor2D, col: number): void {
  const [rows, inDim] = a.shape;
  const stride = aT.shape[1];
  withValues(a, (src) => {
    const out = heapView(aT) as Float32Array;
    for (let i = 0; i < inDim; i++) {
      const o = i * stride + col;
      for (let j = 0; j < rows; j++) out[o + j] = src[j * inDim + i];
    }
  });
}

let current: ChunkContext | null = null;

/** The chunk whose forward is running now (null outside a chunked forward). */
export function currentChunk(): ChunkContext | null {
  return current;
}

/** Runs `f` as one chunk of a chunked forward. */
export function inChunk<T>(chunk: ChunkContext, f: () => T): T {
  const outer = current;
  current = chunk;
  try {
    return f();
  } finally {
    current = outer;
  }
}

/**
 * Which inputs a compressed op of a later chunk (index > 0) shows the tape. tfjs adds the
 * gradients of a weight used by several ops but keeps every addend alive until the whole backward
 * ends (a weight-sized buffer per chunk), so only the first chunk's op takes the weights as
 * inputs; a later chunk's op takes its data inputs plus its smallest weight (which keeps it on
 * the path from the variables to the loss, so its backward runs) and sums its weight gradients
 * here instead. All inputs are shown outside a chunked forward and for chunk 0.
 */
export function tapeInputs(chunk: ChunkContext | null, inputs: tf.Tensor[]): boolean[] {
  const shown = inputs.map(() => true);
  if (chunk === null || chunk.count < 2 || chunk.index === 0) return shown;
  let anchor = -1;
  inputs.forEach((t, i) => {
    if (!(t instanceof tf.Variable)) return;
    shown[i] = false;
    if (anchor < 0 || t.size < inputs[anchor].size) anchor = i;
  });
  if (anchor >= 0) shown[anchor] = true;
  return shown;
}

/**
 * Routes one op's gradients under chunking: a later chunk adds each weight's gradient to the sum
 * kept for it and gives the tape zeros for its anchor weight (a reshape view of one shared zero
 * tensor per weight: no buffer per chunk); chunk 0, whose backward runs last, gives the tape its
 * gradient plus the sum. Returns the gradients of the inputs the tape was shown, in order.
 */
export function routeGrads(
  chunk: ChunkContext | null,
  inputs: tf.Tensor[],
  shown: boolean[],
  grads: (tf.Tensor | null)[],
): tf.Tensor[] {
  if (chunk === null || chunk.count < 2) {
    if (grads.includes(null))
      throw new Error('compressed op: a deferred weight gradient outside a chunked forward');
    return grads as tf.Tensor[];
  }
  const out: tf.Tensor[] = [];
  grads.forEach((g, i) => {
    const v = inputs[i];
    if (!(v instanceof tf.Variable)) {
      if (g === null) throw new Error('compressed op: only weight gradients may be deferred');
      if (shown[i]) out.push(g);
      return;
    }
    const sum = chunk.sums.get(v.id);
    if (chunk.index === 0) {
      // The tape's views keep the shared zeros' buffer until it has summed them.
      chunk.zeros.get(v.id)?.dispose();
      chunk.zeros.delete(v.id);
      if (g === null) throw new Error('compressed op: chunk 0 must return every weight gradient');
      if (!sum) out.push(g);
      else {
        out.push(tf.add(sum, g));
        tf.dispose([sum, g]);
        chunk.sums.delete(v.id);
      }
      return;
    }
    // A deferred gradient (null) comes with chunk 0's (chunkWeightProduct).
    if (g !== null) {
      chunk.sums.set(v.id, tf.keep(sum ? tf.add(sum, g) : g));
      if (sum) tf.dispose([sum, g]);
    }
    if (!shown[i]) return;
    let zeros = chunk.zeros.get(v.id);
    if (!zeros) {
      zeros = tf.keep(tf.zeros(v.shape));
      chunk.zeros.set(v.id, zeros);
    }
    // A reshape is a view on every backend (tf.zeros per chunk would be a buffer per chunk,
    // kept by the tape until the backward ends).
    out.push(tf.reshape(zeros, v.shape));
  });
  return out;
}
