import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { LsqQuant, lsqCodeRange, lsqFakeQuant } from '../../src/lowprec/index.js';
import { maxAbsDiff, saveAndLoad, useBackend } from '../helpers.js';
import { stepLosses } from '../step-losses.js';

/** The LSQ paper's forward and gradients, written out in JS. */
function reference(
  x: ArrayLike<number>,
  s: number,
  bits: number,
  signed: boolean,
  g: number,
  dy: ArrayLike<number>,
) {
  const [qn, qp] = lsqCodeRange(bits, signed);
  const y = new Float32Array(x.length);
  const dx = new Float32Array(x.length);
  let ds = 0;
  for (let i = 0; i < x.length; i++) {
    const r = Math.fround(x[i] / s);
    y[i] = Math.round(Math.min(qp, Math.max(qn, r))) * s;
    if (r <= qn) ds += dy[i] * qn;
    else if (r >= qp) ds += dy[i] * qp;
    else {
      dx[i] = dy[i];
      ds += dy[i] * (Math.round(r) - r);
    }
  }
  return { y, dx, ds: ds * g };
}

describe('LSQ (learned step size) activation quantization', () => {
  it("forward and the x / step gradients equal the paper's formulas (inside, below, above)", async () => {
    await useBackend('cpu');
    for (const signed of [false, true]) {
      const x = tf.randomNormal([200], 0.5, 2, 'float32', signed ? 2 : 1);
      const dy = tf.randomNormal([200], 0, 1, 'float32', 3);
      const s = tf.scalar(0.3);
      const bits = 3;
      const g = 0.05;
      const ref = reference(x.dataSync(), 0.3, bits, signed, g, dy.dataSync());
      const y = lsqFakeQuant(x, s, bits, signed, g);
      assert.ok(maxAbsDiff(y, ref.y) < 1e-6, 'forward');
      const [dx, ds] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        lsqFakeQuant(a, b, bits, signed, g),
      )([x, s], dy);
      assert.ok(maxAbsDiff(dx, ref.dx) < 1e-6, 'dx: identity inside, 0 outside');
      assert.ok(
        Math.abs(ds.dataSync()[0] - ref.ds) < 1e-4 * Math.max(1, Math.abs(ref.ds)),
        `ds ${ds.dataSync()[0]} vs ${ref.ds}`,
      );
      // The range is exercised: values below and above it exist.
      const codes = Array.from(x.dataSync(), (v) => v / 0.3);
      const [qn, qp] = lsqCodeRange(bits, signed);
      assert.ok(codes.some((c) => c < qn) && codes.some((c) => c > qp));
      tf.dispose([x, dy, s, y, dx, ds]);
    }
  });

  it('learns its step through applyStep, without leaks; saves and loads; errors', async () => {
    await useBackend('cpu');
    const model = tf.sequential({
      layers: [
        tf.layers.dense({ inputShape: [6], units: 8, activation: 'relu', name: 'd1' }),
        new LsqQuant({ bits: 2, name: 'q' }),
        tf.layers.dense({ units: 3, name: 'd2' }),
      ],
    });
    const q = model.getLayer('q') as LsqQuant;
    const xs = tf.randomNormal([32, 6], 0, 1, 'float32', 5);
    const ys = tf.oneHot(
      tf.tensor1d(
        Array.from({ length: 32 }, (_, i) => i % 3),
        'int32',
      ),
      3,
    );
    assert.throws(() => model.predict(xs), /step is not set yet/);
    const opt = tf.train.adam(0.02);
    const { step, losses } = stepLosses(model, opt, { xs, ys }, 3);
    step();
    assert.equal(q.signed, false, 'after ReLU: unsigned codes');
    const s0 = q.getWeights()[0].dataSync()[0];
    step();
    const n0 = tf.memory().numTensors;
    for (let i = 0; i < 30; i++) step();
    assert.equal(tf.memory().numTensors, n0, 'no leaks');
    const s1 = q.getWeights()[0].dataSync()[0];
    assert.ok(Math.abs(s1 - s0) > 1e-4, `the step is trained: ${s0} -> ${s1}`);
    assert.ok((losses.at(-1) as number) < losses[0], `loss ${losses[0]} -> ${losses.at(-1)}`);
    const a = model.predict(xs) as tf.Tensor;
    const loaded = await saveAndLoad(model);
    const b = loaded.predict(xs) as tf.Tensor;
    assert.ok(maxAbsDiff(a, b) < 1e-6, 'save/load keeps the step and the signedness');
    assert.throws(() => new LsqQuant({ bits: 9 }), /bits must be an integer in 2-8, got 9/);
    tf.dispose([xs, ys, a, b]);
    opt.dispose();
    model.dispose();
    loaded.dispose();
  });
});
