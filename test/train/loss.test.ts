import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { batches } from '../../src/data/dataset.js';
import { validateTrainConfig } from '../../src/train/config.js';
import { evaluate } from '../../src/train/evaluate.js';
import { train } from '../../src/train/loop.js';
import { type LossName, outputActivation, resolveLoss } from '../../src/train/loss.js';
import { trainStep } from '../../src/train/step.js';
import { useBackend } from '../helpers.js';
import { tinyData } from '../tiny-data.js';

const data = tinyData([6], 96, 5, { testCount: 32 });

type Head = 'logits' | 'dense-softmax' | 'activation-softmax' | 'softmax-layer' | 'sigmoid';

/** A small MLP whose output is logits, or probabilities made three ways, with seeded weights. */
function mlp(head: Head): tf.LayersModel {
  const init = (seed: number) => tf.initializers.glorotUniform({ seed });
  const m = tf.sequential();
  m.add(
    tf.layers.dense({ inputShape: [6], units: 8, activation: 'relu', kernelInitializer: init(1) }),
  );
  const activation =
    head === 'dense-softmax' ? 'softmax' : head === 'sigmoid' ? 'sigmoid' : 'linear';
  m.add(tf.layers.dense({ units: 3, activation, kernelInitializer: init(2) }));
  if (head === 'activation-softmax') m.add(tf.layers.activation({ activation: 'softmax' }));
  if (head === 'softmax-layer') m.add(tf.layers.softmax());
  return m;
}

async function stepLosses(model: tf.LayersModel, loss?: LossName): Promise<number[]> {
  const losses: number[] = [];
  await train(
    model,
    data,
    {
      epochs: 2,
      batchSize: 16,
      learningRate: 0.05,
      optimizer: 'sgd',
      seed: 2,
      ...(loss ? { loss } : {}),
    },
    { onProgress: (e) => e.kind === 'step' && losses.push(e.loss) },
  );
  return losses;
}

describe('training loss', () => {
  it("a softmax-output model trains with its logits twin's loss trajectory ('auto')", async () => {
    await useBackend('cpu');
    const twin = mlp('logits');
    const reference = await stepLosses(twin);
    assert.equal(reference.length, 12);
    assert.ok(reference[11] < reference[0] * 0.8, `logits twin learns: ${reference}`);
    for (const head of ['dense-softmax', 'activation-softmax', 'softmax-layer'] as const) {
      const model = mlp(head);
      assert.equal(outputActivation(model), 'softmax', head);
      assert.equal(resolveLoss(model).name, 'probabilities');
      const losses = await stepLosses(model);
      for (let i = 0; i < reference.length; i++) {
        const rel = Math.abs(losses[i] - reference[i]) / reference[i];
        // Before, the loss applied softmax to the probabilities again: the trajectories differed
        // from the first step (a loss near log 3 whatever the model predicted).
        assert.ok(rel < 1e-4, `${head} step ${i + 1}: ${losses[i]} vs ${reference[i]}`);
      }
      const ev = evaluate(model, data, 'test');
      const evTwin = evaluate(twin, data, 'test');
      assert.ok(
        Math.abs(ev.loss - evTwin.loss) < 1e-4 * evTwin.loss,
        `${ev.loss} vs ${evTwin.loss}`,
      );
      assert.equal(ev.accuracy, evTwin.accuracy);
      model.dispose();
    }
    twin.dispose();
  });

  it('refuses losses the output contradicts, naming the layer and the fix', () => {
    const soft = mlp('dense-softmax');
    const linear = mlp('logits');
    const sigmoid = mlp('sigmoid');
    assert.throws(
      () => resolveLoss(soft, 'logits'),
      /layer '\w+' \(Dense\) ends in softmax.*twice/,
    );
    assert.throws(
      () => resolveLoss(linear, 'probabilities'),
      /not probabilities: use loss 'logits'/,
    );
    assert.throws(() => resolveLoss(sigmoid), /ends in sigmoid.*set loss to 'logits'/);
    assert.equal(resolveLoss(sigmoid, 'probabilities').name, 'probabilities');
    assert.equal(resolveLoss(sigmoid, 'mse').name, 'mse');
    assert.throws(() => resolveLoss(linear, 'auto', 4), /3 values per sample but the data has 4/);
    assert.throws(
      () => resolveLoss(linear, 'hinge' as LossName),
      /loss must be one of auto, logits/,
    );
    const input = tf.input({ shape: [6] });
    const two = tf.model({
      inputs: input,
      outputs: [
        tf.layers.dense({ units: 3 }).apply(input),
        tf.layers.dense({ units: 3 }).apply(input),
      ] as tf.SymbolicTensor[],
    });
    assert.throws(() => resolveLoss(two), /2 outputs/);
    assert.throws(() => validateTrainConfig({ loss: 'xent' as LossName }), /loss must be one of/);
    for (const m of [soft, linear, sigmoid, two]) m.dispose();
  });

  it("'mse' is the mean squared error to the targets, in steps and in evaluation", async () => {
    await useBackend('cpu');
    const model = mlp('logits');
    const ev = evaluate(model, data, 'test', { loss: 'mse' });
    const direct = tf.tidy(() => {
      let sum = 0;
      for (const b of batches(data, 'test', 1000)) {
        const out = model.predict(b.xs) as tf.Tensor;
        sum += tf.sum(tf.square(tf.sub(out, b.ys))).dataSync()[0] / 3;
        tf.dispose([b.xs, b.ys]);
      }
      return sum / data.test.count;
    });
    assert.ok(Math.abs(ev.loss - direct) < 1e-5 * direct, `${ev.loss} vs ${direct}`);
    const optimizer = tf.train.sgd(0.05);
    const losses: number[] = [];
    for (const b of batches(data, 'train', 16)) {
      losses.push(trainStep({ model, optimizer, loss: 'mse' }, b));
      tf.dispose([b.xs, b.ys]);
    }
    assert.ok(losses[losses.length - 1] < losses[0], `${losses}`);
    optimizer.dispose();
    model.dispose();
  });

  it('number fields that are not finite are shown as they are (NaN, Infinity), not as null', () => {
    assert.throws(() => validateTrainConfig({ learningRate: Number.NaN }), /got NaN$/);
    assert.throws(
      () => validateTrainConfig({ learningRate: Number.POSITIVE_INFINITY }),
      /got Infinity$/,
    );
    for (const field of ['epochs', 'batchSize', 'maxStepsPerEpoch', 'seed'] as const)
      assert.throws(
        () => validateTrainConfig({ [field]: Number.NaN }),
        new RegExp(`${field} .*got NaN$`),
      );
    assert.throws(() => validateTrainConfig({ batchSize: '8' as unknown as number }), /got "8"$/);
  });
});
