import * as tf from '@tensorflow/tfjs';
import { type ActivationName, activationDerivative, isSmooth } from './activation-fns.js';
import { type ActivationBits, bitsForCodes } from './bits.js';
import { type FewbitBits, fewbitTable, intervalCodes } from './fewbit-table.js';
import {
  codesToTensor,
  type Saved,
  saveCodesOf,
  savePositiveMask,
  saveQuantized,
} from './saved.js';

/** Multiplies the upstream gradient by the activation's derivative. */
export type ActivationBackward = (dy: tf.Tensor) => tf.Tensor;

export interface ActivationSaveOptions {
  /** Bits for the pre-activation when it is quantized (32: exact). */
  bits: ActivationBits;
  /** Few-bit codes for smooth activations (0: off, quantize the pre-activation instead). */
  fewbit: 0 | FewbitBits;
}

/**
 * What the backward of `name` needs, from the pre-activation z: nothing for linear, a 1-bit mask
 * for relu, interval codes for few-bit smooth activations, otherwise z quantized to `bits`.
 */
export function saveActivationGrad(
  name: ActivationName,
  z: tf.Tensor,
  opts: ActivationSaveOptions,
): Saved<ActivationBackward> {
  if (name === 'linear') return { tensors: [], restore: () => (dy) => dy };
  if (name === 'relu' && opts.bits !== 32) {
    const m = savePositiveMask(z);
    return { tensors: m.tensors, restore: (s) => (dy) => mulAndFree(dy, m.restore(s)) };
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
    };
  }
  const q = saveQuantized(z, opts.bits);
  return {
    tensors: q.tensors,
    restore: (s) => (dy) => {
      const z = q.restore(s);
      const d = activationDerivative(name, z);
      if (z !== s[0]) z.dispose();
      return mulAndFree(dy, d);
    },
  };
}

/** dy * t, freeing the temporary t at once (backward peaks are made of such temporaries). */
function mulAndFree(dy: tf.Tensor, t: tf.Tensor): tf.Tensor {
  const r = tf.mul(dy, t);
  t.dispose();
  return r;
}
