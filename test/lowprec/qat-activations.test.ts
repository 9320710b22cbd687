import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { compress } from '../../src/compress/compress.js';
import { setIntegerKernels } from '../../src/compress/packed/int-kernel.js';
import {
  affineRangeFakeQuant,
  convertQat,
  EmaActQuant,
  finetuneQat,
  LsqQuant,
  prepareQat,
} from '../../src/lowprec/index.js';
import { maxAbsDiff, saveAndLoad, useBackend } from '../helpers.js';
import { tinyData } from '../tiny-data.js';
import { tinyCnn } from '../tiny-models.js';

/** Round half to even (tf.round's rule). */
function roundEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** Affine per-tensor fake quant over [lo, hi] (widened to hold 0), written out in JS. */
function reference(x: ArrayLike<number>, lo: number, hi: number, bits: number) {
  const L = 2 ** bits - 1;
  const l = Math.min(lo, 0);
  const h = Math.max(hi, 0);
  const s = (h - l) / L;
  const z = Math.round(-l / s);
  const y = new Float32Array(x.length);
  const pass = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const q = roundEven(Math.fround(x[i] / s)) + z;
    y[i] = (Math.min(L, Math.max(0, q)) - z) * s;
    pass[i] = q >= 0 && q <= L ? 1 : 0;
  }
  return { y, pass, s };
}

const cnn = () => tinyCnn([4, 8], 16, 1);

const data = () => tinyData([8, 8, 1], 128, 3);

describe('QAT activation fake-quant', () => {
  it('forward equals the affine formula; STE passes inside the range and is 0 where clipped', async () => {
    await useBackend('cpu');
    for (const [lo, hi, bits] of [
      [-0.7, 1.3, 4],
      [0, 2, 2],
      [0.2, 3, 8],
    ] as const) {
      const x = tf.randomNormal([400], 0.4, 1.2, 'float32', bits);
      const dy = tf.randomNormal([400], 0, 1, 'float32', 9);
      const ref = reference(x.dataSync(), lo, hi, bits);
      const y = affineRangeFakeQuant(x, lo, hi, bits);
      assert.ok(maxAbsDiff(y, ref.y) < 1e-6, `forward ${lo} ${hi} ${bits}`);
      const dx = tf.grad((t: tf.Tensor) => affineRangeFakeQuant(t, lo, hi, bits))(x, dy);
      const dyv = dy.dataSync();
      assert.ok(
        maxAbsDiff(
          dx,
          ref.pass.map((p, i) => p * dyv[i]),
        ) < 1e-7,
        'dx = dy inside, 0 outside',
      );
      // both clipped and passed values exist, and zero is exact
      assert.ok(ref.pass.includes(0) && ref.pass.includes(1));
      assert.equal(affineRangeFakeQuant(tf.zeros([2]), lo, hi, bits).dataSync()[0], 0);
      tf.dispose([x, dy, y, dx]);
    }
  });

  it('EMA range: first batch sets it, then lo <- m lo + (1-m) min; freezes after N calls; no leaks', async () => {
    await useBackend('cpu');
    const layer = new EmaActQuant({ bits: 4, momentum: 0.75, freezeAfter: 3 });
    const x0 = tf.tensor2d([[0, 1, 2, -1]]);
    assert.throws(() => layer.apply(x0), /no range observed yet/);
    const batches = [
      [-1, 2],
      [-3, 6],
      [0.5, 1],
      [-10, 10],
    ].map(([a, b]) => tf.tensor2d([[a, b, (a + b) / 2]]));
    let lo = 0;
    let hi = 0;
    const n0 = tf.memory().numTensors;
    batches.forEach((b, i) => {
      const v = b.dataSync();
      const y = layer.apply(b, { training: true }) as tf.Tensor;
      if (i === 0) [lo, hi] = [Math.min(...v), Math.max(...v)];
      else if (i < 3) {
        lo = 0.75 * lo + 0.25 * Math.min(...v);
        hi = 0.75 * hi + 0.25 * Math.max(...v);
      }
      const r = layer.range();
      assert.ok(Math.abs(r.lo - lo) < 1e-5 && Math.abs(r.hi - hi) < 1e-5, `call ${i}: ${r.lo}`);
      assert.equal(r.calls, Math.min(i + 1, 3));
      assert.ok(maxAbsDiff(y, reference(v, lo, hi, 4).y) < 1e-6, `output ${i}`);
      y.dispose();
    });
    assert.equal(tf.memory().numTensors, n0, 'training calls leak nothing');
    // inference uses the stored (frozen) range
    const yi = layer.apply(batches[3]) as tf.Tensor;
    assert.ok(maxAbsDiff(yi, reference(batches[3].dataSync(), lo, hi, 4).y) < 1e-6);
    assert.throws(() => new EmaActQuant({ bits: 1 }), /bits must be an integer in 2-8/);
    assert.throws(() => new EmaActQuant({ bits: 4, momentum: 1 }), /momentum must be in/);
    assert.throws(() => new EmaActQuant({ bits: 4, freezeAfter: 0 }), /freezeAfter/);
    tf.dispose([x0, yi, ...batches]);
  });

  for (const range of ['ema', 'lsq'] as const) {
    it(`prepareQat inserts ${range} input fake-quant; it trains, convertQat keeps it, outputs match, save/load`, async () => {
      await useBackend('cpu');
      const model = cnn();
      const p = await prepareQat(model, { bits: 4, activations: { bits: 4, range } });
      const Cls = range === 'ema' ? EmaActQuant : LsqQuant;
      const acts = p.model.layers.filter((l) => l instanceof Cls);
      assert.equal(acts.length, 4, 'one per prepared layer');
      assert.match(Object.values(p.prepared)[0], /input fake-quant int4 per tensor/);
      const n0 = tf.memory().numTensors;
      finetuneQat(p.model, data(), { steps: 2, batchSize: 16, learningRate: 1e-2, seed: 1 });
      const before = acts.map((l) => l.getWeights()[0].dataSync().slice());
      const r = finetuneQat(p.model, data(), {
        steps: 4,
        batchSize: 16,
        learningRate: 1e-2,
        seed: 2,
      });
      assert.equal(tf.memory().numTensors, n0, 'no leaks across steps');
      assert.ok(r.losses.every(Number.isFinite));
      const after = acts.map((l) => l.getWeights()[0].dataSync().slice());
      assert.ok(
        before.some((b, i) => b.some((v, j) => v !== after[i][j])),
        `${range}: ranges / steps moved in training`,
      );
      const x = tf.randomNormal([5, 8, 8, 1], 0, 1, 'float32', 2);
      const fq = p.model.predict(x) as tf.Tensor;
      const c = convertQat(p.model);
      assert.equal(c.activations.length, 4);
      assert.equal(c.model.layers.filter((l) => l instanceof Cls).length, 4);
      setIntegerKernels({ enabled: false });
      try {
        const y = c.model.predict(x) as tf.Tensor;
        assert.ok(maxAbsDiff(y, fq) < 1e-5, `converted vs fake-quant ${maxAbsDiff(y, fq)}`);
        const loaded = await saveAndLoad(c.model);
        assert.ok(maxAbsDiff(loaded.predict(x) as tf.Tensor, fq) < 1e-5, 'save/load');
        // without the activation fake-quant the 4-bit model computes something else
        const wOnly = await prepareQat(model, { bits: 4 });
        wOnly.model.setWeights(
          p.model.layers.filter((l) => !(l instanceof Cls)).flatMap((l) => l.getWeights()),
        );
        assert.ok(maxAbsDiff(wOnly.model.predict(x) as tf.Tensor, fq) > 1e-3, 'acts matter');
        tf.dispose(y);
        loaded.dispose();
        wOnly.model.dispose();
      } finally {
        setIntegerKernels({ enabled: true });
      }
      tf.dispose([x, fq]);
      for (const m of [model, p.model, c.model]) m.dispose();
    });
  }

  it('EMA freezeAfter through prepareQat stops the ranges; bad activation options name the field', async () => {
    await useBackend('cpu');
    const model = cnn();
    const p = await prepareQat(model, { bits: 4, activations: { bits: 8, freezeAfter: 2 } });
    finetuneQat(p.model, data(), { steps: 2, batchSize: 16, learningRate: 1e-2, seed: 1 });
    const act = p.model.layers.find((l) => l instanceof EmaActQuant) as EmaActQuant;
    const frozen = act.range();
    assert.equal(frozen.calls, 2);
    finetuneQat(p.model, data(), { steps: 3, batchSize: 16, learningRate: 1e-2, seed: 2 });
    assert.deepEqual(act.range(), frozen);
    const bad = async (activations: unknown, re: RegExp) =>
      assert.rejects(
        prepareQat(model, { bits: 4, activations: activations as { bits: number } }),
        re,
      );
    await bad({ bits: 9 }, /activations.bits must be an integer in 2-8, got 9/);
    await bad({ bits: 4, range: 'minmax' }, /activations.range must be 'ema' or 'lsq'/);
    await bad({ bits: 4, range: 'lsq', momentum: 0.5 }, /momentum applies to range 'ema' only/);
    await bad({ bits: 4, steps: 3 }, /unknown field 'steps'/);
    await bad({ bits: 4, momentum: 2 }, /momentum must be in \[0, 1\)/);
    model.dispose();
    p.model.dispose();
  });

  it("compress method 'qat' takes activationBits / activationRange; a range alone is an error", async () => {
    await useBackend('cpu');
    const model = cnn();
    const run = (options: Record<string, unknown>) =>
      compress(
        model,
        {
          version: 1,
          steps: [{ method: 'qat', options: { bits: 4, finetuneSteps: 2, ...options } }],
        },
        { data: data(), measure: false, seed: 1 },
      );
    const r = await run({ activationBits: 8, activationRange: 'lsq' });
    assert.equal(r.model.layers.filter((l) => l instanceof LsqQuant).length, 4);
    r.model.dispose();
    await assert.rejects(run({ activationRange: 'lsq' }), /activationRange needs activationBits/);
    await assert.rejects(
      run({ activationBits: 1 }),
      /activationBits must be an integer from 2 to 8/,
    );
    model.dispose();
  });
});
