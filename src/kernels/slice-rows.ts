import * as tf from '@tensorflow/tfjs';

interface WasmHeap {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): tf.TypedArray;
}

/** Dtypes whose values live in the wasm heap as plain numbers. */
const NUMERIC = new Set<tf.DataType>(['float32', 'int32', 'bool']);

/**
 * A slice that is one contiguous run of the input (whole rows of the leading axes: how chunked
 * code cuts a batch into samples) on the wasm backend, copied heap to heap: only the run is read.
 * Stock wasm's Slice first copies the WHOLE input out of the heap into a JS array (`readSync`),
 * so a loop over k chunks of a tensor copies it k times over (and leaves that much garbage).
 * Returns null where the slice is not contiguous, is empty, or the dtype is not numeric: the
 * stock kernel then.
 */
export function contiguousSliceWasm(
  backend: object,
  x: tf.TensorInfo,
  begin: number | number[],
  size: number | number[],
): tf.TensorInfo | null {
  if (!NUMERIC.has(x.dtype)) return null;
  const [b, s] = tf.slice_util.parseSliceParams(x as tf.Tensor, begin, size);
  const count = tf.util.sizeFromShape(s);
  if (count === 0 || !tf.slice_util.isSliceContinous(x.shape, b, s)) return null;
  const offset = tf.slice_util.computeFlatOffset(b, tf.util.computeStrides(x.shape));
  const heap = backend as WasmHeap;
  // The output first: allocating may grow the heap, which detaches views taken before.
  const out = heap.makeOutput(s, x.dtype);
  const dst = heap.typedArrayFromHeap(out);
  const src = heap.typedArrayFromHeap(x);
  dst.set(src.subarray(offset, offset + count));
  return out;
}
