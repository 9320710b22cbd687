import * as tf from '@tensorflow/tfjs';

/** frugal's backward kernels under names of their own: unlike the stock ones they take `dilations`. */
export const FAST_CONV2D_BACKPROP_FILTER = 'FrugalConv2DBackpropFilter';
export const FAST_CONV2D_BACKPROP_INPUT = 'FrugalConv2DBackpropInput';

/**
 * Gradient of Conv2D. Same kernels as stock tfjs (Conv2DBackpropInput / Conv2DBackpropFilter),
 * except that on backends with frugal's kernels it runs them under frugal's names with the
 * dilations, so dilated convolutions train too (stock tfjs throws for dilation > 1).
 */
export const conv2dGradConfig: tf.GradConfig = {
  kernelName: 'Conv2D',
  inputsToSave: ['x', 'filter'],
  gradFunc: (dy, saved, attrs) => {
    const [x, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
    const a = attrs as unknown as tf.Conv2DAttrs;
    const fast =
      a.dataFormat !== 'NCHW' &&
      tf.getKernel(FAST_CONV2D_BACKPROP_FILTER, tf.getBackend()) !== undefined;
    const dilations = typeof a.dilations === 'number' ? [a.dilations] : a.dilations;
    if (!fast && dilations.some((d) => d !== 1)) {
      throw new Error(
        `gradient of conv2d with dilations [${dilations}] needs frugal's fast kernels (NHWC) on backend '${tf.getBackend()}'`,
      );
    }
    const common: tf.NamedAttrMap = {
      strides: a.strides,
      pad: a.pad as tf.NamedAttrMap[string],
      dataFormat: a.dataFormat,
      ...(a.dimRoundingMode ? { dimRoundingMode: a.dimRoundingMode } : {}),
      ...(fast ? { dilations: a.dilations } : {}),
    };
    const run = (name: string, inputs: tf.NamedTensorMap, extra: tf.NamedAttrMap) =>
      tf.engine().runKernel(name, inputs, { ...common, ...extra }) as tf.Tensor;
    return {
      x: () =>
        run(
          fast ? FAST_CONV2D_BACKPROP_INPUT : 'Conv2DBackpropInput',
          { dy: dy as tf.Tensor, filter },
          { inputShape: x.shape },
        ),
      filter: () =>
        run(
          fast ? FAST_CONV2D_BACKPROP_FILTER : 'Conv2DBackpropFilter',
          { x, dy: dy as tf.Tensor },
          { filterShape: filter.shape },
        ),
    };
  },
};
