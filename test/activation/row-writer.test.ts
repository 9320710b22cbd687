import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { rowWriter } from '../../src/activation/execution/row-writer.js';
import { CompressedActivation } from '../../src/activation/layers/compressed-activation.js';
import { CompressedBatchNorm } from '../../src/activation/layers/compressed-batch-norm.js';
import { CompressedConv2D } from '../../src/activation/layers/compressed-conv2d.js';
import { backwardChunkBytes, setBackwardChunkBytes } from '../../src/engine/settings.js';
import { BACKENDS, maxAbsDiff, useBackend } from '../helpers.js';

const DEFAULT_CHUNK = backwardChunkBytes();

for (const backend of BACKENDS) {
  describe(`row writer (${backend})`, () => {
    before(() => useBackend(backend));
    after(() => setBackwardChunkBytes(DEFAULT_CHUNK));

    it('writes parts into a tensor equal to their concat', () => {
      const x = tf.randomNormal([5, 3, 2], 0, 1, 'float32', 1);
      const w = rowWriter([5, 3, 2]);
      w.write(0, x.slice([0, 0, 0], [2, 3, 2]));
      w.write(2, x.slice([2, 0, 0], [3, 3, 2]));
      const y = w.finish();
      assert.equal(maxAbsDiff(y, x), 0);
      tf.dispose([x, y]);
    });

    it('reuses an unshared buffer on wasm only, never one another tensor views', () => {
      const a = tf.randomNormal([4, 3], 0, 1, 'float32', 2);
      const w = rowWriter([4, 3], a);
      for (const first of [0, 2]) w.write(first, tf.mul(a.slice([first, 0], [2, 3]), 2));
      const y = w.finish();
      assert.equal(y.dataId === a.dataId, backend === 'wasm');
      const b = tf.randomNormal([4, 3], 0, 1, 'float32', 3);
      const bCopy = b.clone().add(0);
      const view = tf.reshape(b, [4, 3]);
      const w2 = rowWriter([4, 3], b);
      for (const first of [0, 2]) w2.write(first, tf.zeros([2, 3]));
      const z = w2.finish();
      assert.notEqual(z.dataId, b.dataId);
      assert.equal(maxAbsDiff(view, bCopy), 0);
      tf.dispose([a, y, b, bCopy, view, z]);
    });

    it('rejects a part whose rows do not match', () => {
      const w = rowWriter([4, 3]);
      const bad = tf.zeros([2, 2]);
      if (backend === 'cpu' || backend === 'wasm')
        assert.throws(() => w.write(0, bad), /does not match/);
      bad.dispose();
      w.finish().dispose();
    });

    it('a conv-bn-relu chain backward in chunks (dx in dy buffers) equals one chunk and tfjs', () => {
      const conv = new CompressedConv2D({
        filters: 3,
        kernelSize: 3,
        padding: 'same',
        useBias: false,
        actBits: 32,
        name: 'c',
      });
      const bn = new CompressedBatchNorm({ actBits: 32, name: 'bn' });
      const relu = new CompressedActivation({ activation: 'relu', actBits: 2, name: 'r' });
      const x = tf.randomNormal([6, 5, 4, 3], 0, 1, 'float32', 4);
      const r = tf.randomNormal([6, 5, 4, 3], 0, 1, 'float32', 5);
      const f = (t: tf.Tensor) => {
        const y = relu.apply(bn.apply(conv.apply(t, { training: true }), { training: true }), {
          training: true,
        }) as tf.Tensor;
        return tf.sum(tf.mul(relu.apply(y, { training: true }) as tf.Tensor, r)) as tf.Scalar;
      };
      tf.tidy(() => f(x)); // builds the layers
      const run = (bytes: number) => {
        setBackwardChunkBytes(bytes);
        const vars = [...conv.trainableWeights, ...bn.trainableWeights].map(
          (v) => v.read() as tf.Variable,
        );
        const { value, grads } = tf.variableGrads(() => f(x), vars);
        value.dispose();
        const dx = tf.grad(f)(x);
        return [dx, ...vars.map((v) => grads[v.name])];
      };
      const w = conv.trainableWeights[0].read();
      const [g, b] = bn.trainableWeights.map((v) => v.read());
      const want = tf.grad((t: tf.Tensor) => {
        const z = tf.conv2d(t as tf.Tensor4D, w as tf.Tensor4D, 1, 'same');
        const { mean, variance } = tf.moments(z, [0, 1, 2]);
        const y = tf.relu(tf.batchNorm(z, mean, variance, b, g, 1e-3));
        return tf.sum(tf.mul(tf.relu(y), r));
      })(x);
      for (const t of run(1 << 20)) t.dispose();
      const before = tf.memory().numTensors;
      const whole = run(1 << 20);
      const chunked = run(4 * 5 * 4 * 3 * 2); // chunks of 2 samples
      whole.forEach((t, i) => {
        assert.ok(maxAbsDiff(t, chunked[i]) < 1e-4, `gradient ${i}`); // summed in another order
      });
      assert.ok(maxAbsDiff(chunked[0], want) < 1e-4);
      tf.dispose([...whole, ...chunked]);
      assert.equal(tf.memory().numTensors, before);
      tf.dispose([want, x, r]);
    });
  });
}
