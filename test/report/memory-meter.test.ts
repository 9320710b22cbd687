import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { buildMlp } from '../../src/models/mlp.js';
import { externalMemory } from '../../src/report/external-memory.js';
import { measureStep } from '../../src/report/memory-meter.js';
import { trainStepMeasured } from '../../src/train/step.js';
import { useBackend } from '../helpers.js';

/** One measured SGD step of `loss` (which calls markForwardEnd) with input x and the single weight w. */
function measureSgdStep(
  x: tf.Tensor,
  w: tf.Variable,
  loss: (markForwardEnd: () => void) => tf.Scalar,
) {
  const optimizer = tf.train.sgd(0.1);
  return measureStep({
    variables: [w],
    weights: [w],
    optimizer,
    inputs: [x],
    run: (mark) =>
      tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => loss(mark), [w]);
        optimizer.applyGradients(grads);
        return value;
      }),
  });
}

/**
 * On cpu, x [n, n] and a weight w [n, n]: one measured SGD step of `loss` tracking no external
 * bytes, then one tracking `bytes` (`loss` gets the count to track); the two memory reports.
 */
async function withAndWithoutExternal(
  n: number,
  bytes: number,
  loss: (x: tf.Tensor, w: tf.Variable, markForwardEnd: () => void, external: number) => tf.Scalar,
) {
  await useBackend('cpu');
  const x = tf.randomNormal([n, n]);
  const w = tf.variable(tf.randomNormal([n, n]));
  const run = async (external: number) =>
    (await measureSgdStep(x, w, (mark) => loss(x, w, mark, external))).memory;
  const plain = await run(0);
  const withExt = await run(bytes);
  tf.dispose([x, w]);
  return { plain, withExt };
}

describe('memory meter', () => {
  it('matches hand-computed bytes for relu(x W) with SGD', async () => {
    await useBackend('cpu');
    const B = 32;
    const n = 100;
    const m = 50;
    const x = tf.randomNormal([B, n]);
    const w = tf.variable(tf.randomNormal([n, m]));
    const { memory } = await measureSgdStep(x, w, (mark) => {
      const s = tf.relu(tf.matMul(x, w)).sum() as tf.Scalar;
      mark();
      return s;
    });
    // Saved for backward: the matmul output [B, m], the relu output [B, m] and the scalar sum.
    assert.equal(memory.savedActivationBytes, 4 * (B * m + B * m + 1));
    assert.equal(memory.weightBytes, 4 * n * m);
    assert.equal(memory.gradientBytes, 4 * n * m);
    assert.equal(memory.inputBytes, 4 * B * n);
    assert.equal(memory.optimizerBytes, 0);
    // The peak holds at least weights, input, the saved activations and the gradient of W.
    assert.ok(memory.peakBytes >= 4 * (n * m + B * n + 2 * B * m + n * m));
    tf.dispose([x, w]);
  });

  it('counts the MLP exactly: weights, Adam slots, inputs, and 3 saved tensors per hidden unit column', async () => {
    await useBackend('cpu');
    const B = 16;
    const measure = async (hidden: number) => {
      const model = buildMlp({
        inputShape: [28, 28, 1],
        numClasses: 10,
        hidden: [hidden],
        seed: 1,
      });
      const xs = tf.randomNormal([B, 28, 28, 1]);
      const ys = tf.oneHot(tf.zeros([B], 'int32'), 10).toFloat() as tf.Tensor2D;
      const optimizer = tf.train.adam(1e-3);
      const batch = { xs, ys, labels: new Int32Array(B), size: B };
      await trainStepMeasured({ model, optimizer }, batch); // creates Adam's slots
      const { memory } = await trainStepMeasured({ model, optimizer }, batch);
      tf.dispose([xs, ys]);
      model.dispose();
      optimizer.dispose();
      return memory;
    };
    const a = await measure(64);
    const b = await measure(128);
    const params = (h: number) => 784 * h + h + h * 10 + 10;
    assert.equal(a.weightBytes, 4 * params(64));
    assert.equal(a.gradientBytes, 4 * params(64));
    assert.equal(a.optimizerBytes, 2 * 4 * params(64)); // Adam: first and second moments
    assert.equal(a.inputBytes, 4 * (B * 784 + B * 10));
    // On cpu the hidden Dense layer keeps three [B, h] tensors (matmul, bias add, relu); the
    // logits and the loss do not depend on h. So 64 more hidden units add exactly 3*B*64 floats.
    assert.equal(b.savedActivationBytes - a.savedActivationBytes, 4 * 3 * B * 64);
    assert.ok(a.savedActivationBytes >= 4 * 3 * B * 64 + 4 * B * 10);
    assert.ok(
      a.peakBytes >= a.weightBytes + a.optimizerBytes + a.inputBytes + a.savedActivationBytes,
    );
  });

  it('counts tracked external buffers in saved and peak bytes', async () => {
    const { plain, withExt } = await withAndWithoutExternal(8, 1000, (x, w, mark, external) => {
      const s = tf.matMul(x, w).sum() as tf.Scalar;
      externalMemory.track(external);
      mark();
      externalMemory.release(external);
      return s;
    });
    assert.equal(withExt.savedActivationBytes - plain.savedActivationBytes, 1000);
    assert.equal(withExt.externalPeakBytes, 1000);
    // The peak counts external bytes live at the peak's moment: at most the 1000 bytes here.
    const extra = withExt.peakBytes - plain.peakBytes;
    assert.ok(extra >= 0 && extra <= 1000, `extra peak ${extra}`);
    assert.equal(externalMemory.live, 0);
  });

  it('peak is the peak of tensors plus external bytes at one moment, not the sum of the two peaks', async () => {
    const { plain, withExt } = await withAndWithoutExternal(32, 64, (x, w, mark, external) => {
      // Held and freed before the step allocates anything: it never meets the tensor peak.
      externalMemory.track(external);
      externalMemory.release(external);
      const s = tf.matMul(x, w).sum() as tf.Scalar;
      mark();
      return s;
    });
    assert.equal(withExt.externalPeakBytes, 64);
    assert.equal(withExt.peakBytes, plain.peakBytes);
  });

  it('counts a reshape view once (tfjs numBytes counts it twice)', async () => {
    await useBackend('cpu');
    const x = tf.randomNormal([64, 64]);
    const w = tf.variable(tf.randomNormal([64, 64]));
    const { memory } = await measureSgdStep(x, w, (mark) => {
      const y = tf.matMul(x, w);
      const s = y.reshape([16, 256]).reshape([4096]).sum() as tf.Scalar;
      mark();
      return s;
    });
    assert.equal(memory.savedActivationBytes, 4 * (64 * 64 + 1));
    tf.dispose([x, w]);
  });
});
