import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { type OptConv2D, optHooks, optLayers, useOpt } from '../../src/recipes/index.js';
import type { GradientContext } from '../../src/train/gradients.js';
import { train } from '../../src/train/loop.js';
import { maxAbsDiff, saveAndLoad } from '../helpers.js';
import { tinyData } from '../tiny-data.js';
import { tinyResnet } from '../tiny-models.js';

function convNet(o: { strides: number; padding: 'same' | 'valid'; useBias: boolean }) {
  return tf.sequential({
    layers: [
      tf.layers.conv2d({
        inputShape: [7, 7, 2],
        filters: 4,
        kernelSize: 3,
        activation: 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }),
        biasInitializer: tf.initializers.randomNormal({ seed: 4 }),
        name: 'conv',
        ...o,
      }),
      tf.layers.globalAveragePooling2d({}),
    ],
  });
}

const optConv = (m: tf.LayersModel) => optLayers(m)[0] as OptConv2D;
const skewOf = (l: OptConv2D) => l.trainableWeights[0].read() as tf.Variable;

describe('recipes: OPT for Conv2D', () => {
  for (const o of [
    { strides: 1, padding: 'same', useBias: true },
    { strides: 2, padding: 'valid', useBias: false },
  ] as const) {
    it(`equals the plain conv at R = I and convolves with the Cayley-rotated filters (${o.padding}, stride ${o.strides})`, () => {
      const plain = convNet(o);
      const before = tf.memory().numTensors;
      const { model, converted } = useOpt(plain, { variant: 'cayley' });
      assert.deepEqual(converted, ['conv']);
      const xs = tf.randomNormal([3, 7, 7, 2], 0, 1, 'float32', 1) as tf.Tensor4D;
      tf.tidy(() => {
        assert.ok(
          maxAbsDiff(model.predict(xs) as tf.Tensor, plain.predict(xs) as tf.Tensor) < 1e-5,
        );
      });
      const layer = optConv(model);
      const d = 3 * 3 * 2;
      tf.tidy(() => skewOf(layer).assign(tf.randomNormal([d, d], 0, 0.2, 'float32', 7)));
      const k = layer.effectiveKernel();
      tf.tidy(() => {
        // The defining identity of the Cayley transform, without any inversion: (I + S) K = (I - S) W
        // with S = A - A^T and K, W the kernels read as [kh kw cin, cout].
        const a = skewOf(layer);
        const s = tf.sub(a, tf.transpose(a));
        const eye = tf.eye(d);
        const w = tf.reshape(plain.layers[0].getWeights()[0], [d, 4]);
        const k2 = tf.reshape(k, [d, 4]);
        assert.ok(maxAbsDiff(tf.matMul(tf.add(eye, s), k2), tf.matMul(tf.sub(eye, s), w)) < 1e-5);
        // Each filter keeps its norm and every pair its angle: K^T K = W^T W.
        assert.ok(maxAbsDiff(tf.matMul(k2, k2, true), tf.matMul(w, w, true)) < 1e-5);
        assert.ok(maxAbsDiff(k2, w) > 1e-2, 'the rotation moved the filters');
        // The layer's output is the plain conv op with that kernel.
        let ref: tf.Tensor = tf.conv2d(xs, k, o.strides, o.padding);
        if (o.useBias) ref = tf.add(ref, plain.layers[0].getWeights()[1]);
        ref = tf.mean(tf.relu(ref), [1, 2]);
        assert.ok(maxAbsDiff(model.predict(xs) as tf.Tensor, ref) < 1e-5);
      });
      tf.dispose([xs, k]);
      model.dispose();
      assert.equal(tf.memory().numTensors, before);
      plain.dispose();
    });
  }

  it('the gradient of S matches finite differences', () => {
    const plain = convNet({ strides: 1, padding: 'valid', useBias: true });
    const { model } = useOpt(plain, { variant: 'cayley' });
    const layer = optConv(model);
    const skew = skewOf(layer);
    skew.assign(tf.randomNormal([18, 18], 0, 0.1, 'float32', 2));
    const xs = tf.randomNormal([2, 7, 7, 2], 0, 1, 'float32', 3);
    const c = tf.randomNormal([2, 4], 0, 1, 'float32', 4);
    const loss = () => tf.sum(tf.mul(model.apply(xs) as tf.Tensor, c)) as tf.Scalar;
    const { grads } = tf.variableGrads(loss, [skew]);
    const g = grads[skew.name].dataSync();
    const base = skew.dataSync().slice();
    const eps = 1e-2;
    for (const i of [0, 5, 19, 77, 150, 323]) {
      const at = (delta: number) => {
        const v = base.slice();
        v[i] += delta;
        skew.assign(tf.tensor2d(v, [18, 18]));
        return tf.tidy(() => loss().dataSync()[0]);
      };
      const fd = (at(eps) - at(-eps)) / (2 * eps);
      assert.ok(Math.abs(fd - g[i]) < 2e-3 + 1e-2 * Math.abs(fd), `entry ${i}: ${g[i]} vs ${fd}`);
    }
    tf.dispose([xs, c, grads[skew.name]]);
    model.dispose();
    plain.dispose();
  });

  it('the zoo resnet trains the OPT way: only S, biases and batch norm move; filter angles stay; no leaks; save/load', async () => {
    const data = tinyData([8, 8, 1], 48, 4, { testCount: 16 });
    const plain = tinyResnet([4, 6], 5);
    const { model, converted, report } = useOpt(plain, { variant: 'cayley' });
    // Every conv (3x3 filters of 1 or 4 channels, 1x1 of 4: d <= 54) and the logits Dense.
    assert.deepEqual(
      converted.sort(),
      [
        'logits',
        's1b1_conv1',
        's1b1_conv2',
        's2b1_conv1',
        's2b1_conv2',
        's2b1_proj',
        'stem_conv',
      ].sort(),
    );
    assert.equal(report.replaced.length, 7);
    const xs = tf.randomNormal([2, 8, 8, 1], 0, 1, 'float32', 1);
    assert.ok(maxAbsDiff(model.predict(xs) as tf.Tensor, plain.predict(xs) as tf.Tensor) < 1e-4);
    const conv = optLayers(model).find((l) => l.name === 's2b1_conv1') as OptConv2D;
    const gram = () =>
      tf.tidy(() => {
        const k = tf.reshape(conv.effectiveKernel(), [conv.inputDim, conv.filters]);
        return tf.matMul(k, k, true);
      });
    const trained = conv.trainableWeights.map((w) => w.name.split('/').pop()?.replace(/_\d+$/, ''));
    assert.deepEqual(trained, ['skew'], 'the conv trains only S (the zoo convs have no bias)');
    const g0 = gram();
    const k0 = conv.effectiveKernel();
    await train(model, data, { epochs: 1, batchSize: 16, learningRate: 0.05, seed: 1 });
    const before = tf.memory().numTensors;
    await train(model, data, { epochs: 1, batchSize: 16, learningRate: 0.05, seed: 2 });
    assert.equal(tf.memory().numTensors, before, 'no tensors left behind by a training run');
    const k1 = conv.effectiveKernel();
    assert.ok(maxAbsDiff(k1, k0) > 1e-3, 'R did not move');
    const g1 = gram();
    assert.ok(maxAbsDiff(g1, g0) < 1e-4, 'filter angles/norms changed');
    const loaded = await saveAndLoad(model);
    assert.ok(maxAbsDiff(loaded.predict(xs) as tf.Tensor, model.predict(xs) as tf.Tensor) < 1e-6);
    tf.dispose([xs, g0, g1, k0, k1]);
    for (const m of [loaded, model, plain]) m.dispose();
  });

  it('stochastic variant: rotates a block of filter rows, folds without changing the function; layer choice and width limits', () => {
    const plain = convNet({ strides: 1, padding: 'same', useBias: true });
    const { model } = useOpt(plain, { variant: 'stochastic', block: 5, seed: 2 });
    const layer = optConv(model);
    assert.equal(layer.block, 5);
    skewOf(layer).assign(tf.randomNormal([5, 5], 0, 0.3, 'float32', 5));
    const xs = tf.randomNormal([2, 7, 7, 2], 0, 1, 'float32', 1);
    const out = model.predict(xs) as tf.Tensor;
    const rows0 = Array.from(layer.nonTrainableWeights[1].read().dataSync());
    const w0 = layer.nonTrainableWeights[0].read().dataSync().slice();
    const kd = layer.effectiveKernel().dataSync();
    for (let r = 0; r < 18; r++)
      if (!rows0.includes(r))
        for (let j = 0; j < 4; j++) assert.equal(kd[r * 4 + j], w0[r * 4 + j], `row ${r} moved`);
    const hooks = optHooks(model, 1);
    const dummy = { ctx: {} as GradientContext, batch: { xs, ys: xs }, optimizer: tf.train.sgd(1) };
    hooks.afterUpdate?.(dummy);
    assert.notDeepEqual(Array.from(layer.nonTrainableWeights[1].read().dataSync()), rows0);
    assert.equal(tf.max(tf.abs(skewOf(layer))).dataSync()[0], 0);
    assert.ok(maxAbsDiff(model.predict(xs) as tf.Tensor, out) < 1e-5);
    // Cayley on filters wider than the limit keeps them, with the reason; layer choice applies.
    const wide = convNet({ strides: 1, padding: 'same', useBias: true });
    assert.throws(
      () => useOpt(wide, { variant: 'cayley', maxCayleyDim: 10 }),
      /no Dense or Conv2D layer to convert \(with the cayley variant, layers up to 10 wide\)/,
    );
    assert.throws(
      () => useOpt(wide, { variant: 'cayley', layers: ['dense'] }),
      /no Dense layer to convert/,
    );
  });
});
