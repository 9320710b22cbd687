import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import {
  decodeKernel,
  encodeKernel,
  type KernelCodec,
} from '../../../src/compress/packed/kernel-codec.js';
import { asKernelLayer } from '../../../src/compress/packed/layer-kernels.js';
import { adaquantLayer } from '../../../src/compress/quantize/adaquant.js';
import { correctBias } from '../../../src/compress/quantize/bias-correction.js';
import { synthesizeInputs } from '../../../src/compress/quantize/data-free.js';
import { layerRegressionData } from '../../../src/compress/quantize/layer-data.js';
import { buildModel } from '../../../src/models/zoo.js';
import { maxAbsDiff, useBackend } from '../../helpers.js';
import { tinyResnet } from '../../tiny-models.js';

const codec = (bits: number, granularity: 'tensor' | 'channel' = 'channel'): KernelCodec => ({
  bits,
  scheme: 'symmetric',
  granularity,
  n: 0,
  m: 0,
});

function denseModel() {
  const m = tf.sequential();
  m.add(
    tf.layers.dense({
      inputShape: [24],
      units: 16,
      activation: 'relu',
      name: 'd1',
      kernelInitializer: tf.initializers.randomNormal({ stddev: 0.3, seed: 1 }),
      biasInitializer: tf.initializers.randomNormal({ stddev: 0.1, seed: 2 }),
    }),
  );
  m.add(
    tf.layers.dense({
      units: 8,
      name: 'd2',
      kernelInitializer: tf.initializers.randomNormal({ stddev: 0.3, seed: 3 }),
    }),
  );
  return m;
}

function mseOf(
  data: { inputs: tf.Tensor2D; targets: tf.Tensor2D },
  kernel: Float32Array,
  bias: Float32Array,
) {
  return tf.tidy(() => {
    const [k, o] = [data.inputs.shape[1], data.targets.shape[1]];
    const y = tf.add(tf.matMul(data.inputs, tf.tensor2d(kernel, [k, o])), tf.tensor1d(bias));
    return tf.mean(tf.squaredDifference(y, data.targets)).dataSync()[0];
  });
}

describe('layer calibration data', () => {
  it('conv patches (stride 2, same padding) reproduce the conv output exactly', async () => {
    await useBackend('cpu');
    const m = tf.sequential();
    m.add(
      tf.layers.conv2d({
        inputShape: [7, 7, 3],
        filters: 4,
        kernelSize: 3,
        strides: 2,
        padding: 'same',
        name: 'c',
        biasInitializer: 'ones',
      }),
    );
    const x = tf.randomNormal([2, 7, 7, 3], 0, 1, 'float32', 5);
    const k = asKernelLayer(m.getLayer('c'))!;
    const data = layerRegressionData(m, k, x, 1e6, 0);
    const conv = m.predict(x) as tf.Tensor;
    assert.deepEqual(data.inputs.shape, [2 * 4 * 4, 27]);
    assert.ok(maxAbsDiff(data.targets, conv.reshape([-1, 4])) < 1e-5);
    data.dispose();
  });
});

describe('AdaQuant', () => {
  it('lowers the output MSE of a 3-bit layer with outlier weights; the packed result has that MSE', async () => {
    await useBackend('cpu');
    const m = tf.sequential();
    m.add(tf.layers.dense({ inputShape: [64], units: 16, name: 'd' }));
    // mostly small weights plus a few 7x outliers: min/max ranges waste most levels
    const w = tf.tidy(() => {
      const outliers = tf.cast(
        tf.greater(tf.randomUniform([64, 16], 0, 1, 'float32', 2), 0.97),
        'float32',
      );
      return tf.mul(
        tf.randomNormal([64, 16], 0, 0.1, 'float32', 1),
        tf.add(1, tf.mul(outliers, 6)),
      );
    });
    m.getLayer('d').setWeights([w, tf.zeros([16])]);
    const x = tf.randomNormal([256, 64], 0, 1, 'float32', 7);
    const k = asKernelLayer(m.getLayer('d'))!;
    const data = layerRegressionData(m, k, x, 256, 0);
    const c = codec(3);
    const before = tf.memory().numTensors;
    const r = adaquantLayer(data, k, c, { steps: 60, learningRate: 3e-3, seed: 1 });
    assert.equal(tf.memory().numTensors, before, 'no tensors leak');
    assert.ok(r.finalMse < r.initialMse * 0.9, `${r.initialMse} -> ${r.finalMse}`);
    const packed = decodeKernel(
      encodeKernel(r.kernel, k.kernelShape, c, { ranges: r.ranges }),
      k.kernelShape,
      c,
    );
    const actual = mseOf(data, packed, r.bias);
    assert.ok(Math.abs(actual - r.finalMse) <= 0.02 * r.finalMse, `${actual} vs ${r.finalMse}`);
    data.dispose();
  });
});

describe('bias correction', () => {
  it('removes the mean output shift of a 2-bit per-tensor layer', async () => {
    await useBackend('cpu');
    const m = denseModel();
    // inputs with a non-zero mean make the quantization error shift the outputs
    const x = tf.add(tf.randomNormal([512, 24], 0, 1, 'float32', 8), 1.5);
    const k = asKernelLayer(m.getLayer('d1'))!;
    const data = layerRegressionData(m, k, x, 512, 0);
    const c = codec(2, 'tensor');
    const wq = decodeKernel(encodeKernel(k.kernel(), k.kernelShape, c), k.kernelShape, c);
    const meanShift = (bias: Float32Array) =>
      tf.tidy(() => {
        const y = tf.add(tf.matMul(data.inputs, tf.tensor2d(wq, [24, 16])), tf.tensor1d(bias));
        return tf
          .abs(tf.mean(tf.sub(data.targets, y), 0))
          .max()
          .dataSync()[0];
      });
    const r = correctBias(data, k, c, {});
    assert.ok(meanShift(k.bias()!) > 0.05, `${meanShift(k.bias()!)}`);
    assert.ok(meanShift(r.bias) < 1e-4, `${meanShift(r.bias)}`);
    assert.ok(mseOf(data, wq, r.bias) < mseOf(data, wq, k.bias()!));
    data.dispose();
  });
});

describe('data-free calibration', () => {
  it('synthesises inputs whose batch-norm input statistics match the running statistics', async () => {
    await useBackend('cpu');
    const model = tinyResnet([4], 3);
    let seed = 20;
    for (const l of model.layers.filter((l) => l.getClassName() === 'BatchNormalization')) {
      const [g, b, mean, v] = l.getWeights();
      l.setWeights([
        g,
        b,
        tf.randomNormal(mean.shape, 0.5, 0.2, 'float32', seed++),
        tf.randomUniform(v.shape, 0.5, 2, 'float32', seed++),
      ]);
    }
    const before = tf.memory().numTensors;
    const r = synthesizeInputs(model, { count: 8, steps: 60, learningRate: 0.1, seed: 1 });
    assert.ok(r.finalLoss < r.initialLoss * 0.6, `${r.initialLoss} -> ${r.finalLoss}`);
    assert.deepEqual(r.inputs.shape, [8, 8, 8, 1]);
    r.inputs.dispose();
    assert.equal(tf.memory().numTensors, before);
    const mlp = buildModel('mlp', { inputShape: [4], numClasses: 2, seed: 1 });
    assert.throws(
      () => synthesizeInputs(mlp, { count: 4 }),
      /no batch-norm layers to synthesise inputs from/,
    );
  });
});
