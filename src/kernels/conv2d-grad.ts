import * as tf from '@tensorflow/tfjs';

/** frugal's backward kernels under names of their own: unlike the stock ones they take `dilations`. */
export const FAST_CONV2D_BACKPROP_FILTER = 'FrugalConv2DBackpropFilter';
export const FAST_CONV2D_BACKPROP_INPUT = 'FrugalConv2DBackpropInput';
export const FAST_DEPTHWISE_BACKPROP_FILTER = 'FrugalDepthwiseConv2dNativeBackpropFilter';
export const FAST_DEPTHWISE_BACKPROP_INPUT = 'FrugalDepthwiseConv2dNativeBackpropInput';

interface BackwardKernels {
  forward: string;
  stockInput: string;
  stockFilter: string;
  fastInput: string;
  fastFilter: string;
}

/**
 * Gradient of a convolution: the same backward kernels as stock tfjs, except that on backends
 * with frugal's kernels it runs them under frugal's names with the dilations, so dilated
 * convolutions train too (stock tfjs throws for dilation > 1 in gradients).
 */
function convGradConfig(k: BackwardKernels): tf.GradConfig {
  return {
    kernelName: k.forward,
    inputsToSave: ['x', 'filter'],
    gradFunc: (dy, saved, attrs) => {
      const [x, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
      const a = attrs as unknown as tf.Conv2DAttrs;
      const fast =
        a.dataFormat !== 'NCHW' && tf.getKernel(k.fastFilter, tf.getBackend()) !== undefined;
      const raw = a.dilations ?? 1;
      const dilations = typeof raw === 'number' ? [raw] : raw;
      if (!fast && dilations.some((d) => d !== 1)) {
        throw new Error(
          `gradient of ${k.forward} with dilations [${dilations}] needs frugal's fast kernels (NHWC) on backend '${tf.getBackend()}'`,
        );
      }
      const common: tf.NamedAttrMap = {
        strides: a.strides,
        pad: a.pad as tf.NamedAttrMap[string],
        ...(a.dataFormat ? { dataFormat: a.dataFormat } : {}),
        ...(a.dimRoundingMode ? { dimRoundingMode: a.dimRoundingMode } : {}),
        dilations: raw,
      };
      const run = (name: string, inputs: tf.NamedTensorMap, extra: tf.NamedAttrMap) =>
        tf.engine().runKernel(name, inputs, { ...common, ...extra }) as tf.Tensor;
      return {
        x: () =>
          run(
            fast ? k.fastInput : k.stockInput,
            { dy: dy as tf.Tensor, filter },
            { inputShape: x.shape },
          ),
        filter: () =>
          run(
            fast ? k.fastFilter : k.stockFilter,
            { x, dy: dy as tf.Tensor },
            { filterShape: filter.shape },
          ),
      };
    },
  };
}

export const conv2dGradConfig = convGradConfig({
  forward: 'Conv2D',
  stockInput: 'Conv2DBackpropInput',
  stockFilter: 'Conv2DBackpropFilter',
  fastInput: FAST_CONV2D_BACKPROP_INPUT,
  fastFilter: FAST_CONV2D_BACKPROP_FILTER,
});

export const depthwiseConv2dGradConfig = convGradConfig({
  forward: 'DepthwiseConv2dNative',
  stockInput: 'DepthwiseConv2dNativeBackpropInput',
  stockFilter: 'DepthwiseConv2dNativeBackpropFilter',
  fastInput: FAST_DEPTHWISE_BACKPROP_INPUT,
  fastFilter: FAST_DEPTHWISE_BACKPROP_FILTER,
});
