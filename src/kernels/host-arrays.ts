import * as tf from '@tensorflow/tfjs';

/**
 * Direct float32 access to a backend's tensor data, for kernels written as plain loops. Works for
 * the `cpu` backend (JS arrays) and the `wasm` backend (views on the wasm heap).
 *
 * Allocate every output with `output` BEFORE taking views with `read`: an allocation can grow the
 * wasm heap, which detaches views taken earlier.
 */
export interface HostArrays {
  output(shape: number[]): tf.TensorInfo;
  /** The float32 values of a tensor: a view of its storage, or a copy where the backend stores another type. Read only. */
  view(info: tf.TensorInfo): Float32Array;
}

interface WasmLike {
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

interface CpuLike {
  data: { get(dataId: tf.DataId): { values?: unknown } };
  makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): tf.TensorInfo;
}

function checkFloat(info: tf.TensorInfo): void {
  if (info.dtype !== 'float32') {
    throw new Error(`frugal fast kernels expect float32 tensors, got ${info.dtype}`);
  }
}

/**
 * Where tensors' values start on the wasm heap (byte offsets), the arguments of frugal's SIMD
 * kernels on tfjs's heap. Take them after allocating every output (see HostArrays).
 */
export function heapOffsets(host: HostArrays, infos: tf.TensorInfo[]): number[] {
  return infos.map((t) => host.view(t).byteOffset);
}

export function hostArrays(backendName: string, backend: object): HostArrays {
  if (backendName === 'wasm') {
    const wasm = backend as WasmLike;
    return {
      output: (shape) => wasm.makeOutput(shape, 'float32'),
      view: (info) => {
        checkFloat(info);
        return wasm.typedArrayFromHeap(info) as Float32Array;
      },
    };
  }
  if (backendName === 'cpu') {
    const cpu = backend as CpuLike;
    return {
      output: (shape) =>
        cpu.makeTensorInfo(shape, 'float32', new Float32Array(tf.util.sizeFromShape(shape))),
      view: (info) => {
        checkFloat(info);
        const values = cpu.data.get(info.dataId).values;
        if (values instanceof Float32Array) return values;
        // The cpu backend casts bool/int32 to float32 without converting the storage, so a
        // float32 tensor can hold a Uint8Array or Int32Array: read it as a float32 copy.
        if (ArrayBuffer.isView(values))
          return Float32Array.from(values as unknown as ArrayLike<number>);
        throw new Error('frugal fast kernels: cpu tensor has no numeric values');
      },
    };
  }
  throw new Error(`frugal fast kernels: no direct data access on backend '${backendName}'`);
}
