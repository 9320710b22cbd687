import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../engine/random.js';

/**
 * Bit widths the quantizer packs, and how many codes share one 32-bit word. Words are float32
 * holding integers below 2^24 (exact in float32): packing and unpacking are then plain float
 * multiply, add, divide and floor, which every backend runs fast (wasm's int32 kernels are
 * several times slower, and its FloorDiv is float32 inside anyway).
 */
export const CODES_PER_WORD: Record<number, number> = { 2: 12, 4: 6, 8: 3 };
export const GROUP_SIZE = 256;
const PHI = 0.6180339887498949;
const PSI = 0.7548776662466927;

/** A tensor quantized per group of 256 values to `bits`-bit codes packed into 32-bit words. */
export interface PackedTensor {
  shape: number[];
  bits: number;
  words: tf.Tensor1D;
  /** Per group: the minimum and the step between levels, [groups, 1]. */
  mins: tf.Tensor2D;
  scales: tf.Tensor2D;
}

export function packedTensorBytes(p: PackedTensor): number {
  return 4 * (p.words.size + p.mins.size + p.scales.size);
}

export function disposePacked(p: PackedTensor): void {
  tf.dispose([p.words, p.mins, p.scales]);
}

function checkBits(bits: number): number {
  const k = CODES_PER_WORD[bits];
  if (k === undefined)
    throw new Error(
      `quantizer bits must be one of ${Object.keys(CODES_PER_WORD).join(', ')}, got ${bits}`,
    );
  return k;
}

/**
 * Per-group stochastic quantization (ActNN) computed with tfjs ops on the active backend:
 * in each group of 256 values, code = floor((x - min) / scale + u) clamped to [0, 2^bits - 1],
 * scale = range / (2^bits - 1). The dither u of element j of group g is
 * frac(j*phi + g*psi + s) with one s ~ U[0,1) drawn from `rng` per call: every element's u is
 * uniform over s, so E[dequantize(quantize(x))] = x, without generating a random number per
 * element. Codes are packed `CODES_PER_WORD[bits]` to an int32 word.
 */
export function quantizeTensor(x: tf.Tensor, bits: number, rng: Rng): PackedTensor {
  const k = checkBits(bits);
  if (x.dtype !== 'float32') throw new Error(`quantizer needs a float32 tensor, got ${x.dtype}`);
  const levels = 2 ** bits - 1;
  const n = x.size;
  const groups = Math.ceil(n / GROUP_SIZE);
  const padded = groups * GROUP_SIZE;
  const words = Math.ceil(padded / k);
  const s = rng();
  const groupDither = Float32Array.from({ length: groups }, (_, g) => (g * PSI + s) % 1);
  const elemDither = Float32Array.from({ length: GROUP_SIZE }, (_, j) => (j * PHI) % 1);
  return tf.tidy(() => {
    let flat = x.reshape([n]);
    // Pad with the last value so padding does not widen the last group's range.
    if (padded > n) flat = tf.concat([flat, tf.tile(flat.slice(n - 1, 1), [padded - n])]);
    const g = flat.reshape([groups, GROUP_SIZE]);
    const mins = tf.min(g, 1, true) as tf.Tensor2D;
    const scales = tf.div(tf.sub(tf.max(g, 1, true), mins), levels) as tf.Tensor2D;
    const u = tf.mod(
      tf.add(tf.tensor2d(elemDither, [1, GROUP_SIZE]), tf.tensor2d(groupDither, [groups, 1])),
      1,
    );
    const codes = tf
      .clipByValue(tf.floor(tf.add(tf.mul(tf.sub(g, mins), tf.divNoNan(1, scales)), u)), 0, levels)
      .reshape([padded]);
    const padCodes =
      words * k > padded ? tf.concat([codes, tf.zeros([words * k - padded])]) : codes;
    const powers = tf.tensor1d(Array.from({ length: k }, (_, j) => 2 ** (bits * j)));
    const packed = tf.sum(tf.mul(padCodes.reshape([words, k]), powers), 1) as tf.Tensor1D;
    return { shape: x.shape, bits, words: packed, mins, scales };
  });
}

export function dequantizeTensor(p: PackedTensor): tf.Tensor {
  const k = checkBits(p.bits);
  const groups = p.mins.shape[0];
  const padded = groups * GROUP_SIZE;
  const n = p.shape.reduce((a, b) => a * b, 1);
  return tf.tidy(() => {
    // code_j = floor(w / 2^(b j)) - 2^b floor(w / 2^(b (j+1))): exact, divisions by powers of 2.
    const inv = tf.tensor2d(
      Array.from({ length: k + 1 }, (_, j) => 2 ** (-p.bits * j)),
      [1, k + 1],
    );
    const shifted = tf.floor(tf.mul(p.words.reshape([-1, 1]), inv));
    const codes = tf
      .sub(shifted.slice([0, 0], [-1, k]), tf.mul(shifted.slice([0, 1], [-1, k]), 2 ** p.bits))
      .reshape([-1])
      .slice(0, padded)
      .reshape([groups, GROUP_SIZE]);
    const x = tf.add(tf.mul(codes, p.scales), p.mins).reshape([padded]);
    return x.slice(0, n).reshape(p.shape);
  });
}
