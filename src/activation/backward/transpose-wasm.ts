import * as tf from '@tensorflow/tfjs';
import { tryWasmKernels } from '../../wasm/module.js';
import { tensorFilledBy, withValues } from '../codec/js-memory.js';

// On the wasm backend, tfjs's MatMul with a transposed second operand transposes that operand
// with a strided copy on every call, and tfjs-wasm's own 2-D Transpose is as slow: for the CNN's
// dense layer (9216 x 128 weights) either costs tens of ms, where the product itself takes about
// one. A compressed dense backward runs that product once per chunk, so it transposes the
// weights once here (frugal's wasm module, cache-blocked) and multiplies without the flag.

interface TransposeExports {
  actTranspose(src: number, rows: number, cols: number, dst: number): void;
}

/** Whether `transposeForMatMul` takes the wasm path (the wasm backend with frugal's module). */
export function wasmTransposeAvailable(): boolean {
  return tf.getBackend() === 'wasm' && tryWasmKernels() !== null;
}

/** w^T of a float32 matrix: frugal's wasm kernel where available, else `tf.transpose`. */
export function transposeMatrix(w: tf.Tensor2D): tf.Tensor2D {
  const k = w.dtype === 'float32' && wasmTransposeAvailable() ? tryWasmKernels() : null;
  if (k === null) return tf.transpose(w);
  const [rows, cols] = w.shape;
  const { heap } = k;
  const n = rows * cols;
  const sp = heap.alloc(n * 4);
  const dp = heap.alloc(n * 4);
  try {
    return tensorFilledBy([cols, rows], (out) => {
      withValues(w, (v) => heap.f32(sp, n).set(v as Float32Array));
      (k.exports as unknown as TransposeExports).actTranspose(sp, rows, cols, dp);
      out.set(heap.f32(dp, n));
    }) as tf.Tensor2D;
  } finally {
    heap.release(sp);
    heap.release(dp);
  }
}

interface DenseGradExports {
  actDenseInputGrad(...args: number[]): void;
}

/** Floats of w that travel into the module at a time (64 KiB: chunk-sized scratch, not w-sized). */
const W_BLOCK_FLOATS = 16384;

/**
 * dz w^T, a Dense layer's input gradient for a few rows of dz, by frugal's wasm kernel (w read
 * once, in its own layout, instead of a product over a thin operand) where the wasm backend has
 * the module and the units are a multiple of 4; else null. w travels into the module 64 KiB of
 * rows at a time. Equal to tf.matMul(dz, w, false, true) up to float rounding (its own summation
 * order).
 */
export function denseInputGradWasm(dz: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D | null {
  const [rows, k] = dz.shape;
  const [n, kw] = w.shape;
  if (kw !== k) throw new Error(`denseInputGradWasm: dz has ${k} columns, w has ${kw}`);
  const ok = dz.dtype === 'float32' && w.dtype === 'float32' && k % 4 === 0 && n > 0;
  const m = ok && wasmTransposeAvailable() ? tryWasmKernels() : null;
  if (m === null) return null;
  const { heap } = m;
  const block = Math.max(1, Math.min(n, Math.floor(W_BLOCK_FLOATS / k)));
  const wp = heap.alloc(block * k * 4);
  const zp = heap.alloc(rows * k * 4);
  const op = heap.alloc(rows * n * 4);
  const run = (m.exports as unknown as DenseGradExports).actDenseInputGrad;
  try {
    return tensorFilledBy([rows, n], (out) => {
      withValues(dz, (v) => heap.f32(zp, rows * k).set(v as Float32Array));
      withValues(w, (v) => {
        for (let i0 = 0; i0 < n; i0 += block) {
          const b = Math.min(block, n - i0);
          heap.f32(wp, b * k).set((v as Float32Array).subarray(i0 * k, (i0 + b) * k));
          run(zp, rows, wp, b, k, op + i0 * 4, n);
        }
      });
      out.set(heap.f32(op, rows * n));
    }) as tf.Tensor2D;
  } finally {
    for (const p of [wp, zp, op]) heap.release(p);
  }
}
