import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { setIntegerKernels } from '../../../src/compress/packed/int-kernel.js';
import { integerPlan, integerPlanGap } from '../../../src/compress/packed/integer-plan.js';
import type { KernelCodec } from '../../../src/compress/packed/kernel-codec.js';
import { asKernelLayer, packedReplacement } from '../../../src/compress/packed/layer-kernels.js';
import { buildModel } from '../../../src/models/zoo.js';
import { type LayerEdit, rewriteModel } from '../../../src/rewrite/index.js';
import { wasmKernels } from '../../../src/wasm/module.js';
import { BACKENDS, useBackend } from '../../helpers.js';
import { channelCodec as codec } from './codec.js';

function packed(model: tf.LayersModel, c: KernelCodec): tf.LayersModel {
  const edits = new Map<string, LayerEdit>();
  for (const layer of model.layers) {
    const k = asKernelLayer(layer);
    if (k) edits.set(layer.name, { replace: [packedReplacement(k, c)] });
  }
  return rewriteModel(model, edits).model;
}

function values(t: tf.Tensor): Float32Array {
  const v = t.dataSync() as Float32Array;
  t.dispose();
  return v;
}

for (const backend of BACKENDS) {
  describe(`whole-model integer plan (${backend})`, () => {
    it('equals layer-by-layer predict on the integer kernels bit for bit (zoo CNN, MLP)', async () => {
      await useBackend(backend);
      const cnn = packed(
        buildModel('cnn', { inputShape: [12, 12, 1], numClasses: 10, filters: [8, 12], seed: 3 }),
        codec(8),
      );
      const mlp = packed(
        buildModel('mlp', { inputShape: [6, 6, 1], numClasses: 5, hidden: [20, 9], seed: 4 }),
        codec(4, 'affine'),
      );
      for (const [m, shape] of [
        [cnn, [12, 12, 1]],
        [mlp, [6, 6, 1]],
      ] as const) {
        const plan = integerPlan(m);
        for (const batch of [1, 3]) {
          const x = tf.randomNormal([batch, ...shape], 0, 1, 'float32', batch);
          const ref = values(m.predict(x) as tf.Tensor);
          const y = plan.predict(x);
          assert.deepEqual(y.shape, [batch, m.outputs[0].shape[1]]);
          assert.deepEqual(values(y), ref);
          x.dispose();
        }
        plan.dispose();
      }
      const steps = integerPlan(cnn).steps;
      assert.deepEqual(steps, [
        'conv1: int8 conv2d 3x3 -> 10x10x8 + ReLU',
        'conv2: int8 conv2d 3x3 -> 8x8x12 + ReLU',
        'pool: max pool 2x2 -> 4x4x12',
        'dense1: int8 dense 192 -> 128 + ReLU',
        'logits: int8 dense 128 -> 10',
      ]);
    });

    it('equals predict with same padding, strides, int4 affine codes and same-padded pooling', async () => {
      await useBackend(backend);
      const input = tf.input({ shape: [9, 7, 3] });
      let t = tf.layers
        .conv2d({ filters: 6, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' })
        .apply(input) as tf.SymbolicTensor;
      t = tf.layers
        .maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' })
        .apply(t) as tf.SymbolicTensor;
      t = tf.layers
        .conv2d({ filters: 5, kernelSize: 2, dilationRate: 1 })
        .apply(t) as tf.SymbolicTensor;
      t = tf.layers.reshape({ targetShape: [10] }).apply(t) as tf.SymbolicTensor;
      const out = tf.layers.dense({ units: 3 }).apply(t) as tf.SymbolicTensor;
      const m = packed(tf.model({ inputs: input, outputs: out }), codec(4, 'affine'));
      const plan = integerPlan(m);
      assert.equal(plan.steps.length, 4);
      const x = tf.randomNormal([2, 9, 7, 3], 0, 1, 'float32', 11);
      assert.deepEqual(values(plan.predict(x)), values(m.predict(x) as tf.Tensor));
      x.dispose();
      plan.dispose();
    });

    it('applies an unfused activation of the last layer (softmax) with tfjs, as predict does', async () => {
      await useBackend(backend);
      const m = packed(
        tf.sequential({
          layers: [
            tf.layers.dense({ inputShape: [5], units: 7, activation: 'relu' }),
            tf.layers.dropout({ rate: 0.5 }),
            tf.layers.dense({ units: 4, activation: 'softmax' }),
          ],
        }),
        codec(8, 'affine'),
      );
      const plan = integerPlan(m);
      assert.match(plan.steps[1], /softmax \(tfjs\)/);
      const x = tf.randomNormal([3, 5], 0, 1, 'float32', 3);
      tf.dispose(plan.predict(x)); // builds the kernels (the codes tensors are released)
      const before = tf.memory().numTensors;
      const y = plan.predict(x);
      assert.equal(tf.memory().numTensors, before + 1);
      assert.deepEqual(values(y), values(m.predict(x) as tf.Tensor));
      tf.dispose(x);
      plan.dispose();
    });

    it('holds its buffers between predicts, no tensor or wasm leaks, errors after dispose', async () => {
      await useBackend(backend);
      const m = packed(
        buildModel('cnn', { inputShape: [8, 8, 2], numClasses: 4, filters: [4, 4], seed: 5 }),
        codec(8),
      );
      const x = tf.randomNormal([2, 8, 8, 2], 0, 1, 'float32', 9);
      tf.dispose(m.predict(x) as tf.Tensor); // builds the layers' kernels
      const heap = wasmKernels().heap;
      const live0 = heap.liveBytes;
      const plan = integerPlan(m);
      tf.dispose(plan.predict(x));
      const tensors = tf.memory().numTensors;
      const live = heap.liveBytes;
      assert.ok(plan.bufferBytes > 0);
      for (let i = 0; i < 3; i++) tf.dispose(plan.predict(x));
      assert.equal(tf.memory().numTensors, tensors);
      assert.equal(heap.liveBytes, live);
      plan.dispose();
      assert.equal(heap.liveBytes, live0);
      assert.throws(() => plan.predict(x), /used after dispose/);
      const wrong = tf.zeros([2, 8, 8, 3]);
      assert.throws(() => integerPlan(m).predict(wrong), /does not match the model input/);
      tf.dispose([x, wrong]);
    });

    it('falls back to model.predict when the kernels are switched off', async () => {
      await useBackend(backend);
      const m = packed(
        buildModel('mlp', { inputShape: [4], numClasses: 3, hidden: [6], seed: 6 }),
        codec(8),
      );
      const plan = integerPlan(m);
      const x = tf.randomNormal([2, 4], 0, 1, 'float32', 2);
      setIntegerKernels({ enabled: false });
      try {
        assert.match(integerPlanGap(m) ?? '', /runs decoded: integer kernels switched off/);
        assert.deepEqual(values(plan.predict(x)), values(m.predict(x) as tf.Tensor));
      } finally {
        setIntegerKernels({ enabled: true });
      }
      x.dispose();
      plan.dispose();
    });

    it('names the layer it cannot run', async () => {
      await useBackend(backend);
      const float = buildModel('mlp', { inputShape: [4], numClasses: 3, hidden: [6], seed: 7 });
      assert.match(
        integerPlanGap(float) ?? '',
        /layer 'dense1' \(Dense\) has no integer plan step/,
      );
      const input = tf.input({ shape: [4] });
      const bn = tf.layers.batchNormalization({ name: 'bn' }).apply(input) as tf.SymbolicTensor;
      const out = tf.layers.dense({ units: 2, name: 'out' }).apply(bn) as tf.SymbolicTensor;
      const withBn = packed(tf.model({ inputs: input, outputs: out }), codec(8));
      assert.throws(
        () => integerPlan(withBn),
        /no integer plan for model .*: layer 'bn' \(BatchNormalization\) has no integer plan step/,
      );
      const elu = tf.sequential({
        layers: [
          tf.layers.dense({ inputShape: [4], units: 3, activation: 'elu', name: 'e' }),
          tf.layers.dense({ units: 2, name: 'f' }),
        ],
      });
      assert.match(integerPlanGap(packed(elu, codec(8))) ?? '', /activation 'elu' is not fused/);
      const a = tf.input({ shape: [4] });
      const d1 = tf.layers.dense({ units: 4, name: 'd1' }).apply(a) as tf.SymbolicTensor;
      const sum = tf.layers.add().apply([a, d1]) as tf.SymbolicTensor;
      const branchy = packed(tf.model({ inputs: a, outputs: sum }), codec(8));
      assert.match(integerPlanGap(branchy) ?? '', /not a chain|has no integer plan step/);
    });
  });
}
