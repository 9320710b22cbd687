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
