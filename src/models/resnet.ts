import * as tf from '@tensorflow/tfjs';
import { defaultSeed } from '../engine/settings.js';
import { checkPositiveInt, SeededInit } from './init.js';

export interface ResnetConfig {
  inputShape: number[];
  numClasses: number;
  /** Channels of each stage; every stage after the first halves the resolution. */
  widths?: number[];
  /** Residual blocks per stage. */
  blocksPerStage?: number;
  /** Batch-norm moving-average momentum (default tfjs's 0.99; 0.9 suits short runs). */
  batchNormMomentum?: number;
  seed?: number;
}

/**
 * A small ResNet: stem conv-bn-relu, stages of basic blocks (conv-bn-relu-conv-bn + shortcut,
 * relu), global average pooling, dense logits. Built with the functional API.
 */
export function buildResnet(config: ResnetConfig): tf.LayersModel {
  const widths = config.widths ?? [16, 32];
  const blocks = config.blocksPerStage ?? 1;
  widths.forEach((w, i) => {
    checkPositiveInt(`resnet widths[${i}]`, w);
  });
  checkPositiveInt('resnet blocksPerStage', blocks);
  const momentum = config.batchNormMomentum ?? 0.99;
  if (!(momentum >= 0 && momentum < 1))
    throw new Error(`resnet batchNormMomentum must be in [0, 1), got ${momentum}`);
  if (config.inputShape.length !== 3) {
    throw new Error(
      `resnet needs image samples [height, width, channels], got [${config.inputShape}]`,
    );
  }
  const init = new SeededInit(config.seed ?? defaultSeed());
  const conv = (
    x: tf.SymbolicTensor,
    filters: number,
    strides: number,
    name: string,
    kernelSize = 3,
  ) =>
    tf.layers
      .conv2d({
        filters,
        kernelSize,
        strides,
        padding: 'same',
        useBias: false,
        kernelInitializer: init.he(),
        name,
      })
      .apply(x) as tf.SymbolicTensor;
  const bn = (x: tf.SymbolicTensor, name: string) =>
    tf.layers.batchNormalization({ name, momentum }).apply(x) as tf.SymbolicTensor;
  const relu = (x: tf.SymbolicTensor, name: string) =>
    tf.layers.reLU({ name }).apply(x) as tf.SymbolicTensor;

  const input = tf.input({ shape: config.inputShape, name: 'input' });
  let x = relu(bn(conv(input, widths[0], 1, 'stem_conv'), 'stem_bn'), 'stem_relu');
  let channels = widths[0];
  widths.forEach((width, s) => {
    for (let b = 0; b < blocks; b++) {
      const stride = s > 0 && b === 0 ? 2 : 1;
      const p = `s${s + 1}b${b + 1}`;
      let y = relu(bn(conv(x, width, stride, `${p}_conv1`), `${p}_bn1`), `${p}_relu1`);
      y = bn(conv(y, width, 1, `${p}_conv2`), `${p}_bn2`);
      const shortcut =
        stride !== 1 || channels !== width
          ? bn(conv(x, width, stride, `${p}_proj`, 1), `${p}_proj_bn`)
          : x;
      x = relu(
        tf.layers.add({ name: `${p}_add` }).apply([y, shortcut]) as tf.SymbolicTensor,
        `${p}_relu2`,
      );
      channels = width;
    }
  });
  const pooled = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as tf.SymbolicTensor;
  const logits = tf.layers
    .dense({ units: config.numClasses, kernelInitializer: init.glorot(), name: 'logits' })
    .apply(pooled) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: logits, name: 'resnet' });
}
