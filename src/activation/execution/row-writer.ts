import * as tf from '@tensorflow/tfjs';
import { hostArrays } from '../../kernels/host-arrays.js';
import { rowsPerChunk, sliceRows } from './row-chunks.js';

/** Builds a tensor from chunks of rows (leading axis) given in order. */
export interface RowWriter {
  /** Writes `part` as rows `first` .. `first + part.shape[0] - 1`, then frees it. */
  write(first: number, part: tf.Tensor): void;
  /** The finished tensor. */
  finish(): tf.Tensor;
}

interface RefCounting {
  refCount(dataId: tf.DataId): number;
}

/** Backends whose tensors' storage can be written directly (cpu: JS arrays, wasm: its heap). */
function directBackend(): 'cpu' | 'wasm' | null {
  const name = tf.getBackend();
  return name === 'cpu' || name === 'wasm' ? name : null;
}

/**
 * `t`'s buffer may be overwritten: the caller owns `t` (no one reads it afterwards) and no other
 * tensor shares its storage. Only on wasm, where every view of a buffer is counted in its refCount
 * (reshape); the cpu backend's contiguous slices share arrays without counting.
 */
export function canOverwrite(t: tf.Tensor): boolean {
  if (tf.getBackend() !== 'wasm' || t.dtype !== 'float32') return false;
  return (tf.backend() as unknown as RefCounting).refCount(t.dataId) === 1;
}

/**
 * A writer of a float32 tensor of `shape`. On cpu and wasm the rows go straight into one buffer
 * (a concat of the parts would hold them and the result together: twice the tensor). `reuse`, a
 * tensor the caller owns and reads only a chunk ahead of the writes (row i's part is computed
 * from rows <= i of it), becomes that buffer when its storage may be overwritten (wasm, not shared).
 * Other backends keep the parts and concat them.
 */
export function rowWriter(shape: number[], reuse: tf.Tensor | null = null): RowWriter {
  const backend = directBackend();
  const size = tf.util.sizeFromShape(shape);
  if (backend === null) {
    const parts: tf.Tensor[] = [];
    return {
      write: (_first, part) => {
        parts.push(part);
      },
      finish: () => {
        const out = parts.length === 1 ? parts[0] : tf.concat(parts, 0);
        if (parts.length > 1) tf.dispose(parts);
        return out;
      },
    };
  }
  const host = hostArrays(backend, tf.backend());
  const target =
    reuse !== null && reuse.size === size && canOverwrite(reuse)
      ? reuse
      : tf.engine().makeTensorFromTensorInfo(host.output(shape));
  const rowSize = size / shape[0];
  return {
    write: (first, part) => {
      if (part.size !== part.shape[0] * rowSize || part.dtype !== 'float32')
        throw new Error(`rowWriter: part [${part.shape}] does not match rows of [${shape}]`);
      // Views taken after every allocation (a wasm heap growth detaches earlier views).
      const src = host.view(part);
      host.view(target).set(src, first * rowSize);
      if (part !== target) part.dispose();
    },
    finish: () => (tf.util.arraysEqual(target.shape, shape) ? target : reshapeOwned(target, shape)),
  };
}

function reshapeOwned(t: tf.Tensor, shape: number[]): tf.Tensor {
  const r = tf.reshape(t, shape);
  t.dispose();
  return r;
}

/**
 * `f` applied to `x` a chunk of rows at a time (rows, index of the first), each chunk's result written over those rows of x
 * (row i of the result may depend on row i of x only), returned as a new view of x's buffer; null
 * (nothing done) where x's buffer may not be overwritten. Only for an x the caller frees next and
 * no one else reads (see isDonated): its values are gone.
 */
export function overwriteRows(
  x: tf.Tensor,
  f: (rows: tf.Tensor, first: number) => tf.Tensor,
): tf.Tensor | null {
  if (x.rank === 0 || !canOverwrite(x)) return null;
  const n = x.shape[0];
  const rows = rowsPerChunk(n, (4 * x.size) / n);
  const writer = rowWriter(x.shape, x);
  for (let first = 0; first < n; first += rows) {
    const count = Math.min(rows, n - first);
    const part = sliceRows(x, first, count);
    const y = tf.tidy(() => f(part, first));
    if (y !== part) part.dispose();
    writer.write(first, y);
  }
  writer.finish();
  return tf.reshape(x, x.shape);
}

/**
 * A writer that adds the rows into `target`'s own buffer (target + rows) instead of making a new
 * tensor: for a target the caller owns whose storage may be overwritten (canOverwrite).
 */
export function rowAccumulator(target: tf.Tensor): RowWriter {
  const backend = directBackend();
  if (backend === null || !canOverwrite(target))
    throw new Error('rowAccumulator: the target buffer may not be written');
  const host = hostArrays(backend, tf.backend());
  const rowSize = target.size / target.shape[0];
  return {
    write: (first, part) => {
      if (part.size !== part.shape[0] * rowSize || part.dtype !== 'float32')
        throw new Error(
          `rowAccumulator: part [${part.shape}] does not match rows of [${target.shape}]`,
        );
      const src = host.view(part);
      const dst = host.view(target);
      const at = first * rowSize;
      for (let i = 0; i < src.length; i++) dst[at + i] += src[i];
      part.dispose();
    },
    finish: () => target,
  };
}
