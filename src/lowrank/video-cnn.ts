// A small 3D-convolution classifier for short videos [frames, height, width, channels] (the
// moving-digits task of src/data/moving-mnist.ts): two 3x3x3 convolutions with spatial stride 2,
// a hidden Dense layer and logits. `conv: 'as2d'` computes the 3D convolutions with frugal's
// Conv3dAs2d (2D convolutions on 4D tensors, for runtimes without 5D support); `conv: 'conv3d'`
// uses tf.layers.conv3d. One seed gives both the same function (the 3D kernels are drawn once and
// stored in the 2D layout for 'as2d'), so the two can be compared step for step.
import * as tf from '@tensorflow/tfjs';
import { defaultSeed } from '../engine/settings.js';
import { addDenseHead, cnnWidths } from '../models/cnn.js';
import { checkPositiveInt, SeededInit } from '../models/init.js';
import { conv3dKernelTo2d, type Triple } from './conv3d.js';
import { Conv3dAs2d } from './conv3d-layers.js';

export const VIDEO_CONVS = ['as2d', 'conv3d'] as const;
export type VideoConv = (typeof VIDEO_CONVS)[number];

export interface VideoCnnConfig {
  /** One video: [frames, height, width, channels]. */
  inputShape: number[];
  numClasses: number;
  /** Filters of the two 3D convolutions (default [8, 16]). */
  filters?: [number, number];
  /** Units of the hidden Dense layer (default 64). */
  dense?: number;
  /** How the 3D convolutions run (default 'as2d'). */
  conv?: VideoConv;
  seed?: number;
}

const KERNEL: Triple = [3, 3, 3];
const STRIDES: Triple = [1, 2, 2];

/** conv3d 3x3x3 /(1,2,2) relu x2, flatten, dense relu, dense logits. */
export function buildVideoCnn(config: VideoCnnConfig): tf.LayersModel {
  const { f1, f2, dense } = cnnWidths('videoCnn', config, { filters: [8, 16], dense: 64 });
  checkPositiveInt('videoCnn numClasses', config.numClasses);
  const conv = config.conv ?? 'as2d';
  if (!VIDEO_CONVS.includes(conv))
    throw new Error(
      `videoCnn: conv must be one of ${VIDEO_CONVS.join(', ')}, got ${JSON.stringify(conv)}`,
    );
  const s = config.inputShape;
  if (s.length !== 4 || s.some((d) => !Number.isInteger(d) || d < 1))
    throw new Error(
      `videoCnn needs video samples [frames, height, width, channels], got [${config.inputShape}]`,
    );
  // two valid 3x3x3 convolutions need 5 frames and 7 pixels (3 -> stride 2 -> 3)
  if (s[0] < 5 || s[1] < 7 || s[2] < 7)
    throw new Error(
      `videoCnn: a video of [${s.slice(0, 3)}] (frames, height, width) is too small for two 3x3x3 convolutions with spatial stride 2 (needs at least [5, 7, 7])`,
    );
  const init = new SeededInit(config.seed ?? defaultSeed());
  const kernelInits = [init.glorot(), init.glorot()];
  const model = tf.sequential({ name: `video_cnn_${conv}` });
  const convLayers: tf.layers.Layer[] = [f1, f2].map((filters, i) => {
    const common = { filters, strides: STRIDES, padding: 'valid' as const, name: `conv${i + 1}` };
    const first = i === 0 ? { inputShape: s } : {};
    return conv === 'conv3d'
      ? tf.layers.conv3d({
          ...common,
          ...first,
          kernelSize: KERNEL,
          activation: 'relu',
          kernelInitializer: kernelInits[i],
        })
      : new Conv3dAs2d({ ...common, ...first, kernelSize: KERNEL, activation: 'relu' });
  });
  for (const l of convLayers) model.add(l);
  addDenseHead(model, dense, config.numClasses, init);
  if (conv === 'as2d') {
    // the same kernels tf.layers.conv3d would draw, in the 2D layout
    let cin = s[3];
    convLayers.forEach((l, i) => {
      const filters = i === 0 ? f1 : f2;
      const k3 = kernelInits[i].apply([...KERNEL, cin, filters]) as tf.Tensor5D;
      const k2 = conv3dKernelTo2d(k3);
      const bias = l.getWeights()[1];
      l.setWeights([k2, bias]);
      tf.dispose([k3, k2]);
      cin = filters;
    });
  }
  return model;
}
