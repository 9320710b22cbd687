import * as tf from '@tensorflow/tfjs';
import { externalMemory } from '../../report/external-memory.js';

/**
 * Quantizing and restoring activations goes through JavaScript arrays. Those arrays are real
 * memory, so they are tracked in `externalMemory` for as long as they live beside the tensors.
 */

/** JS bytes a `dataSync()` of `t` allocates: none on cpu (its buffers are JS arrays), a copy elsewhere. */
export function readCopyBytes(t: tf.Tensor): number {
  return tf.getBackend() === 'cpu' ? 0 : t.size * 4;
}

/** Runs `f` with `bytes` of JS scratch memory counted. */
export function scratch<T>(bytes: number, f: () => T): T {
  externalMemory.track(bytes);
  try {
    return f();
  } finally {
    externalMemory.release(bytes);
  }
}

/**
 * `t`'s values where they live, without a copy, on the wasm backend: a view of the tfjs-wasm
 * module's memory at the tensor's offset (`typedArrayFromHeap`, the public method the backend's
 * own kernels use). Null on other backends. The view is valid only until the next tfjs op: an op
 * may grow that memory, which detaches every view of it.
 */
export function heapView(t: tf.Tensor): tf.TypedArray | null {
  if (tf.getBackend() !== 'wasm') return null;
  const backend = tf.backend() as unknown as Partial<HeapBackend>;
  if (typeof backend.typedArrayFromHeap !== 'function') return null;
  return backend.typedArrayFromHeap(t);
}

/**
 * Reads `t`'s values for `f`: on wasm a view of the backend's memory (no copy; `f` must not run
 * tfjs ops), elsewhere `dataSync`, counting the copy that backends other than cpu make.
 */
export function withValues<T>(t: tf.Tensor, f: (values: tf.TypedArray) => T): T {
  const view = heapView(t);
  if (view !== null) return f(view);
  return scratch(readCopyBytes(t), () => f(t.dataSync()));
}

/**
 * A tensor from a JS array. The cpu backend adopts the array (no extra memory); other backends
 * copy it, so the array is counted until the copy exists.
 */
export function tensorFromJs(
  values: Float32Array | Int32Array,
  shape: number[],
  dtype: 'float32' | 'int32' = 'float32',
): tf.Tensor {
  return scratch(tf.getBackend() === 'cpu' ? 0 : values.byteLength, () =>
    tf.tensor(values, shape, dtype),
  );
}

interface HeapBackend {
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array;
}

/**
 * A float32 tensor of `shape` whose values `fill` writes (every one of them). On wasm they are
 * written straight into the tensor's own memory (no JS array beside it, and no zeroing first);
 * elsewhere into a JS array that the cpu backend adopts and other backends copy (counted while it
 * lives). `fill` must not run tfjs ops.
 */
export function tensorFilledBy(shape: number[], fill: (out: Float32Array) => void): tf.Tensor {
  return filledTensor(shape, 'float32', (out) => fill(out as Float32Array));
}

/** `tensorFilledBy` for an int32 tensor (`fill` writes every value). */
export function int32TensorFilledBy(shape: number[], fill: (out: Int32Array) => void): tf.Tensor {
  return filledTensor(shape, 'int32', (out) => fill(out as Int32Array));
}

interface OutputBackend {
  makeOutput(shape: number[], dtype: string): tf.TensorInfo;
}

function filledTensor(
  shape: number[],
  dtype: 'float32' | 'int32',
  fill: (out: Float32Array | Int32Array) => void,
): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const backend = tf.backend() as unknown as Partial<HeapBackend & OutputBackend>;
  if (tf.getBackend() === 'wasm' && typeof backend.typedArrayFromHeap === 'function') {
    // The backend's own output allocation, as its kernels make theirs (uninitialised memory, no
    // Fill kernel); tfjs-wasm always has it, but a backend without it gets a zero fill.
    const t =
      typeof backend.makeOutput === 'function'
        ? tf.engine().makeTensorFromTensorInfo(backend.makeOutput(shape, dtype), tf.backend())
        : tf.fill(shape, 0, dtype);
    try {
      fill(backend.typedArrayFromHeap(t));
    } catch (e) {
      t.dispose();
      throw e;
    }
    return t;
  }
  return scratch(readCopyBytes({ size: n } as tf.Tensor), () => {
    const values = dtype === 'int32' ? new Int32Array(n) : new Float32Array(n);
    fill(values);
    return tf.tensor(values, shape, dtype);
  });
}
