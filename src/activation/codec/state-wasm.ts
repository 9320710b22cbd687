import type * as tf from '@tensorflow/tfjs';
import { activationCodec } from '../../engine/settings.js';
import { tryWasmKernels, type WasmKernels } from '../../wasm/module.js';
import type { PoolGeometry } from '../../wasm/pool-geometry.js';
import { forEachRowChunk } from '../execution/row-chunks.js';
import type { PackedBits } from './bits.js';
import { int32TensorFilledBy, tensorFilledBy, withValues } from './js-memory.js';
import { packedWords } from './pack.js';

// The exact wasm kernels of the backward state (src/wasm/assembly/act-codec.ts): the ReLU mask
// packed and applied to dy, the max-pool argmax codes packed and dy scattered by them. Same words
// as packCodes of the JS path (so either path restores what the other saved) and bit-identical
// gradients. Inputs travel into the module's heap by one memcpy from a view of the tfjs-wasm
// memory (two separate WebAssembly memories: a kernel of one module cannot address the other's),
// a chunk of samples at a time; outputs are written straight into the new tensor's memory.

/** The kernels' signatures (pointers are byte offsets into the module memory). */
interface StateExports {
  actPackPositive(x: number, n: number, from: number, words: number): void;
  actApplyMask(words: number, from: number, count: number, dy: number, out: number): void;
  actApplyMaskSum(...args: number[]): void;
  actPoolArgmax(...args: number[]): void;
  actPoolScatter(...args: number[]): void;
}

/** The module when the chosen activation codec is a wasm one and the module runs, else null. */
export function stateKernels(): (WasmKernels & { state: StateExports }) | null {
  if (activationCodec() === 'js') return null;
  const k = tryWasmKernels();
  if (k === null) return null;
  // One object per module instance (this runs several times per chunk of every step).
  let w = withState.get(k.exports);
  if (w === undefined) {
    w = { ...k, state: k.exports as unknown as StateExports };
    withState.set(k.exports, w);
  }
  return w;
}

const withState = new WeakMap<object, WasmKernels & { state: StateExports }>();

export type { PoolGeometry };

/** Packed words (one spare word: the mask kernel reads 64 bits at a time) for `count` codes. */
function wordsBytes(count: number, bits: PackedBits): number {
  return (packedWords(count, bits) + 1) * 4;
}

/**
 * Runs `kernel` on each chunk of samples of `x` copied into the module heap, with a zeroed words
 * block for `count` codes of `bits` bits; returns the words as an int32 tensor.
 */
function packFrom(
  k: WasmKernels,
  x: tf.Tensor,
  count: number,
  bits: PackedBits,
  kernel: (xp: number, first: number, rows: number, wp: number) => void,
): tf.Tensor {
  const { heap } = k;
  const nWords = packedWords(count, bits);
  const wp = heap.alloc(wordsBytes(count, bits));
  try {
    heap.bytes().fill(0, wp, wp + wordsBytes(count, bits));
    forEachRowChunk(x, (v, first, rows) => {
      const xp = heap.put(v as Float32Array);
      try {
        kernel(xp, first, rows, wp);
      } finally {
        heap.release(xp);
      }
    });
    return int32TensorFilledBy([nWords], (out) =>
      out.set(new Int32Array(heap.bytes().buffer, wp, nWords)),
    );
  } finally {
    heap.release(wp);
  }
}

/** The 1-bit mask (x > 0) of float32 `x`, packed as `packCodes` would pack its 0/1 codes. */
export function packPositiveWasm(
  k: WasmKernels & { state: StateExports },
  x: tf.Tensor,
): tf.Tensor {
  const perRow = x.rank > 1 ? x.size / x.shape[0] : x.size;
  return packFrom(k, x, x.size, 1, (xp, first, rows, wp) =>
    k.state.actPackPositive(xp, rows * perRow, first * perRow, wp),
  );
}

/** dy times the 0/1 mask whose bits start at `from` in `words` (the saved mask tensor). */
export function applyMaskWasm(
  k: WasmKernels & { state: StateExports },
  words: tf.Tensor,
  from: number,
  dy: tf.Tensor,
): tf.Tensor {
  return maskInWasm(k, words, from, dy, 0).dz;
}

/**
 * `applyMaskWasm` that also sums dz over every axis but the last (`channels` values, a bias
 * gradient) in the same pass: float64 sums in index order, as frugal's leading-axes Sum.
 */
export function applyMaskSumWasm(
  k: WasmKernels & { state: StateExports },
  words: tf.Tensor,
  from: number,
  dy: tf.Tensor,
  channels: number,
): { dz: tf.Tensor; db: tf.Tensor } {
  if (!Number.isInteger(channels) || channels < 1 || dy.size % channels !== 0)
    throw new Error(`applyMaskSumWasm: ${dy.size} values are not rows of ${channels} channels`);
  const r = maskInWasm(k, words, from, dy, channels);
  return { dz: r.dz, db: r.db as tf.Tensor };
}

function maskInWasm(
  k: WasmKernels & { state: StateExports },
  words: tf.Tensor,
  from: number,
  dy: tf.Tensor,
  channels: number,
): { dz: tf.Tensor; db: tf.Tensor | null } {
  const { heap } = k;
  const n = dy.size;
  // Only the words holding bits from .. from + n - 1 travel, plus the spare one.
  const w0 = from >>> 5;
  const nWords = Math.min(words.size, ((from + n + 31) >>> 5) + 1) - w0;
  const wp = heap.alloc((nWords + 1) * 4);
  const dp = heap.alloc(n * 4);
  const op = heap.alloc(n * 4);
  const sp = channels > 0 ? heap.alloc(channels * 8) : 0;
  try {
    const dz = tensorFilledBy(dy.shape, (out) => {
      withValues(words, (w) => {
        heap.bytes().fill(0, wp + nWords * 4, wp + nWords * 4 + 4);
        new Int32Array(heap.bytes().buffer, wp, nWords).set(
          (w as Int32Array).subarray(w0, w0 + nWords),
        );
      });
      withValues(dy, (d) => heap.f32(dp, n).set(d as Float32Array));
      if (channels > 0) {
        heap.bytes().fill(0, sp, sp + channels * 8);
        k.state.actApplyMaskSum(wp, from - w0 * 32, n, dp, op, channels, sp);
      } else k.state.actApplyMask(wp, from - w0 * 32, n, dp, op);
      out.set(heap.f32(op, n));
    });
    const db =
      channels > 0
        ? tensorFilledBy([channels], (out) =>
            out.set(new Float64Array(heap.bytes().buffer, sp, channels)),
          )
        : null;
    return { dz, db };
  } finally {
    for (const p of [wp, dp, op, sp]) heap.release(p);
  }
}

/** The argmax codes of a max pool over `x` ([n, h, w, c]), packed at `bits` bits per output. */
export function poolArgmaxWasm(
  k: WasmKernels & { state: StateExports },
  x: tf.Tensor,
  g: PoolGeometry,
  bits: PackedBits,
): tf.Tensor {
  const perRow = g.outH * g.outW * g.c;
  const count = x.shape[0] * perRow;
  return packFrom(k, x, count, bits, (xp, first, rows, wp) =>
    k.state.actPoolArgmax(
      xp,
      rows,
      g.h,
      g.w,
      g.c,
      g.ph,
      g.pw,
      g.sh,
      g.sw,
      g.outH,
      g.outW,
      g.top,
      g.left,
      bits,
      first * perRow,
      wp,
    ),
  );
}

/** dx of the max pool: `dy` ([n, outH, outW, c]) added at each output's argmax (`words`). */
export function poolScatterWasm(
  k: WasmKernels & { state: StateExports },
  words: tf.Tensor,
  dy: tf.Tensor,
  xShape: number[],
  g: PoolGeometry,
  bits: PackedBits,
): tf.Tensor {
  const { heap } = k;
  const n = xShape[0];
  const dxSize = xShape.reduce((a, b) => a * b, 1);
  const wp = heap.alloc(words.size * 4 + 4);
  const dp = heap.alloc(dy.size * 4);
  const xp = heap.alloc(dxSize * 4);
  try {
    return tensorFilledBy(xShape, (out) => {
      withValues(words, (w) =>
        new Int32Array(heap.bytes().buffer, wp, words.size).set(w as Int32Array),
      );
      withValues(dy, (d) => heap.f32(dp, dy.size).set(d as Float32Array));
      const { h, w, c, pw, sh, sw, outH, outW, top, left } = g;
      k.state.actPoolScatter(wp, dp, xp, n, h, w, c, pw, sh, sw, outH, outW, top, left, bits, 0);
      out.set(heap.f32(xp, dxSize));
    });
  } finally {
    for (const p of [wp, dp, xp]) heap.release(p);
  }
}
