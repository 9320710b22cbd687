import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { SparseGradConv2D } from '../../src/sparse/sparse-grad-conv-layer.js';
import { SparseGradDense } from '../../src/sparse/sparse-grad-dense.js';
import type { SparseGradLayer } from '../../src/sparse/sparse-grad-layer.js';
import { maxAbsDiff, saveAndLoad, useBackend } from '../helpers.js';

/** The plain tfjs layer of `plainLayer()`, built over `shape` with the sparse layer's weights. */
function plainTwin(layer: SparseGradLayer, shape: number[]): tf.layers.Layer {
  const { className, config } = layer.plainLayer();
  const make = className === 'Dense' ? tf.layers.dense : tf.layers.conv2d;
  const plain = make(config as never);
  plain.build(shape);
  plain.setWeights(layer.getWeights());
  return plain;
}

describe('SparseGradLayer: what SparseGradDense and SparseGradConv2D share', () => {
  before(() => useBackend('cpu'));

  const spec = { n: 2, m: 4, kind: 'mvue' } as const;
  const cases: [string, () => SparseGradLayer, number[]][] = [];
  for (const activation of ['linear', 'relu'] as const)
    for (const useBias of [true, false]) {
      const common = { gradSparsity: spec, activation, useBias, seed: 3 };
      cases.push([
        `Dense ${activation} bias ${useBias}`,
        () => new SparseGradDense({ units: 5, ...common }),
        [6, 7],
      ]);
      for (const [padding, strides] of [
        ['valid', 1],
        ['same', 2],
        ['valid', [2, 1]],
      ] as ['same' | 'valid', number | [number, number]][])
        cases.push([
          `Conv2D ${activation} bias ${useBias} ${padding} strides ${strides}`,
          () =>
            new SparseGradConv2D({ filters: 3, kernelSize: [3, 2], strides, padding, ...common }),
          [4, 7, 6, 2],
        ]);
    }

  for (const [label, make, shape] of cases)
    it(`${label}: forward and output shape are the plain layer's; the config survives save/load`, async () => {
      const layer = make();
      layer.build(shape);
      const plain = plainTwin(layer, shape);
      const x = tf.randomNormal(shape, 0, 1, 'float32', 1);
      const y = layer.apply(x) as tf.Tensor;
      const want = plain.apply(x) as tf.Tensor;
      assert.deepEqual(y.shape, want.shape);
      assert.deepEqual(layer.computeOutputShape(shape), plain.computeOutputShape(shape));
      assert.ok(maxAbsDiff(y, want) < 1e-5);
      if (layer.activationName === 'relu') assert.ok(y.min().dataSync()[0] >= 0);
      const input = tf.input({ shape: shape.slice(1) });
      const saved = make();
      const model = tf.model({ inputs: input, outputs: saved.apply(input) as tf.SymbolicTensor });
      saved.setWeights(layer.getWeights());
      const loaded = await saveAndLoad(model);
      assert.deepEqual(loaded.layers[1].getConfig(), saved.getConfig());
      const y2 = loaded.predict(x) as tf.Tensor;
      assert.ok(maxAbsDiff(y2, y) < 1e-6);
      tf.dispose([x, y, want, y2]);
      model.dispose();
      loaded.dispose();
    });

  it('refuses an activation other than linear or relu, naming the layer class', () => {
    const activation = 'tanh' as 'relu';
    assert.throws(
      () => new SparseGradDense({ units: 2, gradSparsity: spec, activation }),
      /^Error: SparseGradDense: activation must be 'linear' or 'relu', got tanh$/,
    );
    assert.throws(
      () => new SparseGradConv2D({ filters: 2, kernelSize: 3, gradSparsity: spec, activation }),
      /^Error: SparseGradConv2D: activation must be 'linear' or 'relu', got tanh$/,
    );
  });

  it('Dense refuses inputs that are not [batch, features]', () => {
    const layer = new SparseGradDense({ units: 2, gradSparsity: spec, name: 'sd' });
    assert.throws(() => layer.build([2, 3, 4]), /sd: SparseGradDense takes \[batch, features\]/);
  });
});
