import type * as tf from '@tensorflow/tfjs';
import type { Rng } from '../../engine/random.js';
import { forEachRowChunk, sliceRows } from '../execution/row-chunks.js';
import type { ActivationBits, PackedBits } from './bits.js';
import { quantizeChunk, restoreChunk as restoreGroupRows } from './codec-kernel.js';
import { scratch, tensorFilledBy, tensorFromJs, withValues } from './js-memory.js';
import { packCodes, unpackCodeRange, unpackCodes } from './pack.js';
import { allocateGroups, type QuantizedGroups } from './quantize.js';
import { saveQuantizedPerSample } from './saved-per-sample.js';
import { nextRng } from './seed.js';
import { packPositiveWasm, stateKernels } from './state-wasm.js';

/**
 * One value a layer keeps for its backward: the tensors handed to `customGrad`'s `save` (what the
 * tape keeps, and what the memory meter counts) and how to rebuild the value from them.
 */
export interface Saved<T> {
  readonly tensors: tf.Tensor[];
  restore(saved: tf.Tensor[]): T;
  /**
   * Rebuilds only samples `first` .. `first + count - 1` (rows of the leading axis), so a
   * backward can work through the batch in chunks without the whole full-precision value ever
   * existing. Absent when the value has no batch axis.
   */
  restoreRows?(saved: tf.Tensor[], first: number, count: number): T;
}

/** Bytes of the tensors a layer saves (each is a separate buffer). */
export function savedBytes(parts: Saved<unknown>[]): number {
  let b = 0;
  for (const p of parts) for (const t of p.tensors) b += t.size * 4;
  return b;
}

/** Concatenates the parts' tensors for `save`. */
export function saveList(parts: Saved<unknown>[]): tf.Tensor[] {
  return parts.flatMap((p) => p.tensors);
}

/** Splits customGrad's saved list back into the parts' slices, in order. */
export function splitSaved(saved: tf.Tensor[], parts: Saved<unknown>[]): tf.Tensor[][] {
  const out: tf.Tensor[][] = [];
  let i = 0;
  for (const p of parts) {
    out.push(saved.slice(i, i + p.tensors.length));
    i += p.tensors.length;
  }
  if (i !== saved.length) throw new Error(`saved list has ${saved.length} tensors, expected ${i}`);
  return out;
}

/** Nothing to keep. */
export const SAVE_NOTHING: Saved<null> = { tensors: [], restore: () => null };

/** Keeps the float32 tensor as is (the exact, uncompressed backward). */
export function saveExact(x: tf.Tensor): Saved<tf.Tensor> {
  return {
    tensors: [x],
    restore: (s) => s[0],
    restoreRows: (s, first, count) => sliceRows(s[0], first, count),
  };
}

function samplesOf(shape: number[]): number {
  return shape.length > 1 ? shape[0] : 1;
}

/**
 * Keeps `x` quantized per group of 256 values to `bits` bits with stochastic rounding (32: exact),
 * as a packed int32 tensor plus a float32 tensor of per-group mins and scales. With `perSample`
 * (and a batch of several samples), `bits` is the average and each sample gets its own width.
 * The rounding draws from `rng` (default: the next generator of the activation seed stream).
 */
export function saveQuantized(
  x: tf.Tensor,
  bits: ActivationBits,
  perSample = false,
  rng: Rng = nextRng(),
): Saved<tf.Tensor> {
  if (bits === 32) return saveExact(x);
  if (perSample && x.rank > 1 && x.shape[0] > 1) return saveQuantizedPerSample(x, bits);
  const shape = x.shape.slice();
  const q = allocateGroups(samplesOf(shape), x.size / samplesOf(shape), bits);
  forEachRowChunk(x, (v, first) => quantizeChunk(v, q, first, rng));
  const meta = new Float32Array(q.mins.length * 2);
  meta.set(q.mins, 0);
  meta.set(q.scales, q.mins.length);
  return savedAsQuantized(
    tensorFromJs(q.words, [q.words.length], 'int32'),
    tensorFromJs(meta, [meta.length]),
    bits,
    shape,
  );
}

/**
 * The save of a value of `shape` quantized to `bits`: its packed codes `words` and `meta` (the
 * per-group mins, then the scales), as `saveQuantized` makes them.
 */
export function savedAsQuantized(
  words: tf.Tensor,
  meta: tf.Tensor,
  bits: PackedBits,
  shape: number[],
): Saved<tf.Tensor> {
  return {
    tensors: [words, meta],
    // The saved values are read inside the fill: on wasm the views of them are taken after the
    // output tensor exists (creating it may grow the backend's memory and detach older views).
    restore: (s) => restoreRange(s, bits, shape, 0, samplesOf(shape)),
    restoreRows: (s, first, count) => restoreRange(s, bits, shape, first, count),
  };
}

function restoreRange(
  s: tf.Tensor[],
  bits: PackedBits,
  shape: number[],
  first: number,
  count: number,
): tf.Tensor {
  const outShape = count === samplesOf(shape) ? shape : [count, ...shape.slice(1)];
  return tensorFilledBy(outShape, (out) =>
    withValues(s[0], (words) =>
      withValues(s[1], (meta) =>
        restoreGroupRows(restoreGroups(words, meta, bits, shape), first, count, out),
      ),
    ),
  );
}

function restoreGroups(
  words: tf.TypedArray,
  metaValues: tf.TypedArray,
  bits: PackedBits,
  shape: number[],
): QuantizedGroups {
  const meta = metaValues as Float32Array;
  const n = meta.length / 2;
  const samples = samplesOf(shape);
  return {
    bits,
    samples,
    perSample: shape.reduce((a, b) => a * b, 1) / samples,
    words: words as Int32Array,
    mins: meta.subarray(0, n),
    scales: meta.subarray(n),
  };
}

/**
 * Keeps small integer codes (mask bits, interval indices, argmax offsets) packed; `perRow` codes
 * per sample lets `restoreRows` unpack a range of samples.
 */
export function saveCodes(
  codes: Uint8Array,
  bits: PackedBits,
  perRow = codes.length,
): Saved<Uint8Array> {
  const words = packCodes(codes, bits);
  return codesSavedAs(tensorFromJs(words, [words.length], 'int32'), bits, codes.length, perRow);
}

/** `saveCodes` of codes already packed into the int32 tensor `words` (`n` codes, `perRow` a row). */
export function codesSavedAs(
  words: tf.Tensor,
  bits: PackedBits,
  n: number,
  perRow = n,
): Saved<Uint8Array> {
  return {
    tensors: [words],
    restore: (s) => withValues(s[0], (w) => unpackCodes(w as Int32Array, bits, n)),
    restoreRows: (s, first, count) =>
      withValues(s[0], (w) =>
        unpackCodeRange(w as Int32Array, bits, first * perRow, count * perRow),
      ),
  };
}

/**
 * Codes computed from `x`'s values by `f` (one per value, or `count`), kept packed; `f` gets the
 * values and codes of `rows` samples at a time. The JS read of x and the codes are counted.
 */
export function saveCodesOf(
  x: tf.Tensor,
  bits: PackedBits,
  f: (values: tf.TypedArray, codes: Uint8Array, rows: number) => void,
  count = x.size,
): Saved<Uint8Array> {
  const perRow = count / samplesOf(x.shape);
  return scratch(count, () => {
    const codes = new Uint8Array(count);
    // x is read a chunk of samples at a time; f fills the codes of those samples.
    forEachRowChunk(x, (v, first, rows) => {
      f(v, codes.subarray(first * perRow, (first + rows) * perRow), rows);
    });
    return saveCodes(codes, bits, perRow);
  });
}

/**
 * Float32 tensor of `shape` with value table[code] per code (only samples `rows.first` ..
 * `rows.first + rows.count - 1` when `rows` is given); JS scratch counted.
 */
export function codesToTensor(
  codes: Saved<Uint8Array>,
  saved: tf.Tensor[],
  shape: number[],
  table: (code: number) => number,
  rows?: { first: number; count: number },
): tf.Tensor {
  const outShape = rows ? [rows.count, ...shape.slice(1)] : shape;
  const n = outShape.reduce((a, b) => a * b, 1);
  return scratch(n, () => {
    const k = rows ? restoreRowsOf(codes, saved, rows.first, rows.count) : codes.restore(saved);
    const d = new Float32Array(n);
    for (let i = 0; i < n; i++) d[i] = table(k[i]);
    return tensorFromJs(d, outShape);
  });
}

/** `restoreRows` of a saved value, with a clear error when it has none. */
export function restoreRowsOf<T>(p: Saved<T>, saved: tf.Tensor[], first: number, count: number): T {
  if (!p.restoreRows) throw new Error('this saved value cannot be restored by rows');
  return p.restoreRows(saved, first, count);
}

/**
 * Rows `first` .. `first + count - 1` of a saved value for one chunk of a `total`-sample batch;
 * when the chunk is the whole batch, its plain `restore` (no slice copy: for an exact save that is
 * the saved tensor itself, which a backward reading each row once may dispose, as the saved state
 * is consumed).
 */
export function restoreChunk<T>(
  p: Saved<T>,
  saved: tf.Tensor[],
  first: number,
  count: number,
  total: number,
): T {
  return count === total ? p.restore(saved) : restoreRowsOf(p, saved, first, count);
}

/** A 1-bit mask (x > 0), restored as a float32 0/1 tensor of x's shape. */
export function savePositiveMask(x: tf.Tensor): Saved<tf.Tensor> {
  const k = x.dtype === 'float32' ? stateKernels() : null;
  const shape = x.shape.slice();
  const perRow = x.size / samplesOf(shape);
  // The wasm kernel packs the same words as packCodes of the JS loop's codes.
  const inner = k
    ? codesSavedAs(packPositiveWasm(k, x), 1, x.size, perRow)
    : saveCodesOf(x, 1, (v, codes) => {
        for (let i = 0; i < v.length; i++) codes[i] = v[i] > 0 ? 1 : 0;
      });
  return {
    tensors: inner.tensors,
    restore: (s) => codesToTensor(inner, s, shape, (c) => c),
    restoreRows: (s, first, count) => codesToTensor(inner, s, shape, (c) => c, { first, count }),
  };
}
