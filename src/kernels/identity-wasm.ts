import type * as tf from '@tensorflow/tfjs';

interface RefCounted {
  incRef(dataId: tf.DataId): void;
}

/**
 * Identity on wasm without a copy: the output shares the input's data and takes a reference, as
 * tfjs's cpu backend does (tfjs-wasm copies every value). tfjs clones each tensor a gradient
 * saves for the backward through Identity, so the stock kernel copied every saved activation of
 * every training step (the zoo CNN: about 6 ms a step). No wasm kernel writes into its inputs.
 */
export function identityShared(
  backend: object,
  x: tf.TensorInfo,
  stock: tf.KernelConfig,
  inputs: tf.NamedTensorInfoMap,
): tf.TensorInfo {
  if (x.dtype === 'string')
    return stock.kernelFunc({ inputs, backend, attrs: {} }) as tf.TensorInfo;
  (backend as RefCounted).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}
