import * as tf from '@tensorflow/tfjs';
import { fastKernelsActive } from '../../engine/settings.js';
import { type ActivationName, activationDerivative, isSmooth } from './activation-fns.js';
import { type ActivationBits, bitsForCodes } from './bits.js';
import { type FewbitBits, fewbitTable, intervalCodes } from './fewbit-table.js';
import {
  codesToTensor,
  restoreChunk,
  restoreRowsOf,
  type Saved,
  saveCodesOf,
  savePositiveMask,
  saveQuantized,
} from './saved.js';
import { applyMaskSumWasm, applyMaskWasm, stateKernels } from './state-wasm.js';

/** Multiplies the upstream gradient by the activation's derivative. */
export type ActivationBackward = (dy: tf.Tensor) => tf.Tensor;

/** dz (dy through the activation) and dz summed over every axis but the last (a bias gradient). */
export interface GradAndSum {
  dz: tf.Tensor;
  db: tf.Tensor;
}

/**
 * What an activation's backward keeps. `summedRows`, where the state allows it (a ReLU mask with a
 * wasm codec, under the fast kernels), gives for samples first .. first + count - 1 a backward that returns dz with its
 * sum over every axis but the last from one pass (null where it cannot: then restore and sum).
 */
export interface ActivationSaved extends Saved<ActivationBackward> {
  summedRows?(
    saved: tf.Tensor[],
    first: number,
    count: number,
  ): (dy: tf.Tensor) => GradAndSum | null;
}

/**
 * The backward of samples first .. first + count - 1 of a `total`-sample batch's `act` applied
 * to `dy` (their rows) and, with `withBias` where the state has a fused pass (`summedRows`), dz's
 * sum over every axis but the last from the same pass. Otherwise the restore (`restoreChunk`)
 * and db undefined: the caller sums dz itself, as late as it likes (a tensor made early is one
 * more at the backward's peak).
 */
export function activationGradRows(
  act: ActivationSaved,
  saved: tf.Tensor[],
  rows: { first: number; count: number; total: number },
  dy: tf.Tensor,
  withBias: boolean,
): { dz: tf.Tensor; db: tf.Tensor | undefined } {
  const { first, count, total } = rows;
  const fused = withBias && act.summedRows ? act.summedRows(saved, first, count)(dy) : null;
  if (fused) return fused;
  return { dz: restoreChunk(act, saved, first, count, total)(dy), db: undefined };
}

export interface ActivationSaveOptions {
  /** Bits for the pre-activation when it is quantized (32: exact). */
  bits: ActivationBits;
  /** Few-bit codes for smooth activations (0: off, quantize the pre-activation instead). */
  fewbit: 0 | FewbitBits;
  /** Per-sample bits (averaging `bits`) when the pre-activation is quantized. */
  perSample?: boolean;
}

/**
 * What the backward of `name` needs, from the pre-activation z: nothing for linear, a 1-bit mask
 * for relu, interval codes for few-bit smooth activations, otherwise z quantized to `bits`.
 */
export function saveActivationGrad(
  name: ActivationName,
  z: tf.Tensor,
  opts: ActivationSaveOptions,
): ActivationSaved {
  if (name === 'linear')
    return { tensors: [], restore: () => (dy) => dy, restoreRows: () => (dy) => dy };
  if (name === 'relu' && opts.bits !== 32) {
    const m = savePositiveMask(z);
    const perRow = z.rank > 1 ? z.size / z.shape[0] : z.size;
    // With a wasm codec, dy * mask in one kernel from the packed bits (bit-identical: dy * 0 or
    // dy * 1); no 0/1 float mask tensor.
    const masked = (s: tf.Tensor[], first: number, dy: tf.Tensor) => {
      const k = dy.dtype === 'float32' && dy.size % perRow === 0 ? stateKernels() : null;
      return k ? applyMaskWasm(k, s[0], first * perRow, dy) : null;
    };
    const channels = z.shape[z.rank - 1];
    return {
      tensors: m.tensors,
      restore: (s) => (dy) =>
        (dy.size === z.size ? masked(s, 0, dy) : null) ?? mulAndFree(dy, m.restore(s)),
      restoreRows: (s, first, count) => (dy) =>
        (dy.size === count * perRow ? masked(s, first, dy) : null) ??
        mulAndFree(dy, restoreRowsOf(m, s, first, count)),
      // dz and the bias gradient in one wasm pass: the same sums as frugal's leading-axes Sum, so
      // only while that is tf.sum's kernel (the fast kernels), to stay bit-identical to 'js'.
      summedRows: (s, first, count) => (dy) => {
        const fits =
          fastKernelsActive() && dy.size === count * perRow && z.rank > 1 && dy.dtype === 'float32';
        const k = fits && perRow % channels === 0 ? stateKernels() : null;
        return k ? applyMaskSumWasm(k, s[0], first * perRow, dy, channels) : null;
      },
    };
  }
  if (isSmooth(name) && opts.fewbit > 0) {
    const table = fewbitTable(name, opts.fewbit as FewbitBits);
    const c = saveCodesOf(z, bitsForCodes(table.levels.length), (v, codes) => {
      intervalCodes(v, table.borders, codes);
    });
    const shape = z.shape.slice();
    return {
      tensors: c.tensors,
      restore: (s) => (dy) =>
        mulAndFree(
          dy,
          codesToTensor(c, s, shape, (k) => table.levels[k]),
        ),
      restoreRows: (s, first, count) => (dy) =>
        mulAndFree(
          dy,
          codesToTensor(c, s, shape, (k) => table.levels[k], { first, count }),
        ),
    };
  }
  const q = saveQuantized(z, opts.bits, opts.perSample);
  // z is rebuilt only when dy arrives, and freed once its derivative exists.
  const times = (s: tf.Tensor[], z: tf.Tensor, dy: tf.Tensor) => {
    const d = activationDerivative(name, z);
    if (z !== s[0]) z.dispose();
    return mulAndFree(dy, d);
  };
  return {
    tensors: q.tensors,
    restore: (s) => (dy) => times(s, q.restore(s), dy),
    restoreRows: (s, first, count) => (dy) => times(s, restoreRowsOf(q, s, first, count), dy),
  };
}

/** dy * t, freeing the temporary t at once (backward peaks are made of such temporaries). */
function mulAndFree(dy: tf.Tensor, t: tf.Tensor): tf.Tensor {
  const r = tf.mul(dy, t);
  t.dispose();
  return r;
}
