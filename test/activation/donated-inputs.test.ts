import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { compressActivations } from '../../src/activation/convert.js';
import { isDonated, withDonatedInputs } from '../../src/activation/execution/donated-inputs.js';
import { overwriteRows } from '../../src/activation/execution/row-writer.js';
import { streamingForward } from '../../src/activation/execution/streaming-forward.js';
import { seedActivationRng, setBackwardChunkBytes } from '../../src/engine/settings.js';
import { buildModel } from '../../src/models/zoo.js';
import { classificationLoss, trainableVariables } from '../../src/train/step.js';
import { BACKENDS, maxAbsDiff, useBackend } from '../helpers.js';

const quiet = { warn: () => {} };

for (const backend of BACKENDS) {
  describe(`donated inputs (${backend})`, () => {
    before(() => useBackend(backend));

    it('marks inputs only while the layer runs', () => {
      const t = tf.zeros([2]);
      assert.equal(
        withDonatedInputs([t], () => isDonated(t)),
        true,
      );
      assert.equal(isDonated(t), false);
      t.dispose();
    });

    it('overwriteRows writes f(x) over x on wasm (a view of its buffer), nothing elsewhere', () => {
      const x = tf.randomNormal([5, 3], 0, 1, 'float32', 1);
      const want = tf.relu(x);
      const y = overwriteRows(x, (r) => tf.relu(r));
      if (backend === 'wasm') {
        assert.ok(y !== null && y.dataId === x.dataId);
        assert.equal(maxAbsDiff(y, want), 0);
        y.dispose();
      } else assert.equal(y, null);
      const shared = tf.reshape(want, [5, 3]);
      assert.equal(
        overwriteRows(want, (r) => r),
        null,
      ); // a second tensor views it
      tf.dispose([x, want, shared]);
    });

    it('a ResNet trained with the streaming forward (outputs written over last-use inputs) gets the same loss and gradients as without', async () => {
      setBackwardChunkBytes(4 * 6 * 6 * 4 * 2); // chunks of 2 samples
      try {
        const base = buildModel('resnet', {
          inputShape: [6, 6, 1],
          numClasses: 3,
          widths: [4, 8],
          seed: 2,
        });
        const r = await compressActivations(base, { level: 'L3' }, quiet);
        const xs = tf.randomNormal([5, 6, 6, 1], 0, 1, 'float32', 3);
        const ys = tf.oneHot(tf.tensor1d([0, 1, 2, 1, 0], 'int32'), 3);
        const vars = trainableVariables(r.model);
        const stream = streamingForward(r.model);
        const step = (f: (x: tf.Tensor) => tf.Tensor) => {
          seedActivationRng(11);
          const { value, grads } = tf.variableGrads(() => classificationLoss(ys, f(xs)), vars);
          return [value, ...vars.map((v) => grads[v.name])];
        };
        const kept = streamingForward(r.model, { overwrite: false });
        const plain = step((x) => kept(x, true));
        const before = tf.memory().numTensors;
        const streamed = step((x) => stream(x, true));
        plain.forEach((t, i) => {
          assert.ok(maxAbsDiff(t, streamed[i]) < 1e-5, `tensor ${i}`);
        });
        tf.dispose(streamed);
        assert.equal(tf.memory().numTensors, before);
        tf.dispose([...plain, xs, ys]);
        r.model.dispose();
        base.dispose();
      } finally {
        setBackwardChunkBytes(1 << 20);
      }
    });
  });
}
