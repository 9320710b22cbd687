import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { projectRows } from '../../src/activation/backward/rmm.js';
import { derivativeAt, SMOOTH_ACTIVATIONS } from '../../src/activation/codec/activation-fns.js';
import {
  fewbitTable,
  gridMoments,
  intervalCodes,
  optimalSegments,
} from '../../src/activation/codec/fewbit-table.js';
import { CompressedDense } from '../../src/activation/layers/compressed-dense.js';
import { allocateBits, allocationCost } from '../../src/activation/precision/bit-allocation.js';
import { makeRng } from '../../src/engine/random.js';
import { seedActivationRng } from '../../src/engine/settings.js';
import { maxAbsDiff, useBackend } from '../helpers.js';

describe('few-bit tables', () => {
  it('the DP matches a brute-force search over all borders on a small grid', () => {
    const m = gridMoments((x) => derivativeAt('gelu', x), { lo: -4, hi: 4, cells: 12 });
    const segCost = (i: number, j: number) => {
      let w = 0;
      let a = 0;
      let b = 0;
      for (let k = i; k < j; k++) {
        w += m.w[k];
        a += m.a[k];
        b += m.b[k];
      }
      return w > 0 ? b - (a * a) / w : 0;
    };
    for (const segments of [2, 3, 4]) {
      let best = Number.POSITIVE_INFINITY;
      const rec = (start: number, left: number, acc: number) => {
        if (left === 1) {
          best = Math.min(best, acc + segCost(start, 12));
          return;
        }
        for (let j = start + 1; j <= 12 - left + 1; j++) rec(j, left - 1, acc + segCost(start, j));
      };
      rec(0, segments, 0);
      const t = optimalSegments(m, segments);
      assert.ok(Math.abs(t.cost - best) < 1e-12, `${segments}: ${t.cost} vs ${best}`);
      assert.equal(t.borders.length, segments - 1);
    }
  });

  it('error falls with bits, and few-bit gradients are close to exact', () => {
    for (const fn of SMOOTH_ACTIVATIONS) {
      const costs = ([1, 2, 3, 4] as const).map((b) => fewbitTable(fn, b).cost);
      for (let i = 1; i < costs.length; i++) assert.ok(costs[i] < costs[i - 1], `${fn} ${costs}`);
      const t = fewbitTable(fn, 4);
      const xs = Array.from({ length: 2000 }, (_, i) => -3 + (6 * i) / 1999);
      const k = intervalCodes(xs, t.borders);
      let err = 0;
      let norm = 0;
      xs.forEach((x, i) => {
        const w = Math.exp(-0.5 * x * x);
        err += w * (t.levels[k[i]] - derivativeAt(fn, x)) ** 2;
        norm += w * derivativeAt(fn, x) ** 2;
      });
      assert.ok(Math.sqrt(err / norm) < 0.1, `${fn}: relative error ${Math.sqrt(err / norm)}`);
    }
  });
});

describe('randomized matmul backward', () => {
  before(() => useBackend('cpu'));

  it('E[S^T S] = I for every projection kind (dW unbiased)', () => {
    const g = tf.randomNormal([12, 3], 0, 1, 'float32', 1) as tf.Tensor2D;
    const x = tf.randomNormal([12, 4], 0, 1, 'float32', 2) as tf.Tensor2D;
    const exact = tf.matMul(x, g, true);
    for (const kind of ['gaussian', 'rademacher', 'rows'] as const) {
      const n = 600;
      const acc = tf.tidy(() => {
        let s = tf.zerosLike(exact);
        for (let i = 0; i < n; i++)
          s = tf.add(s, tf.matMul(projectRows(x, kind, 4, i), projectRows(g, kind, 4, i), true));
        return tf.div(s, n);
      });
      const rel = tf.norm(tf.sub(acc, exact)).dataSync()[0] / tf.norm(exact).dataSync()[0];
      const one = tf.tidy(() =>
        tf.matMul(projectRows(x, kind, 4, 7), projectRows(g, kind, 4, 7), true),
      );
      const relOne = tf.norm(tf.sub(one, exact)).dataSync()[0] / tf.norm(exact).dataSync()[0];
      assert.ok(rel < relOne / 4 && rel < 0.15, `${kind}: mean error ${rel}, single ${relOne}`);
    }
  });

  it('the Dense input gradient stays exact, and only S x (k rows) is saved', () => {
    const layer = new CompressedDense({ units: 3, actBits: 32, rmmRatio: 0.25 });
    const ref = tf.layers.dense({ units: 3 });
    const x = tf.randomNormal([16, 5], 0, 1, 'float32', 3);
    layer.apply(x);
    ref.apply(x);
    ref.setWeights(layer.getWeights());
    const f = (l: tf.layers.Layer) => (xx: tf.Tensor) =>
      tf.sum(
        tf.mul(
          l.apply(xx, { training: true }) as tf.Tensor,
          tf.randomNormal([16, 3], 0, 1, 'float32', 4),
        ),
      ) as tf.Scalar;
    seedActivationRng(1);
    const dx = tf.grad(f(layer))(x);
    assert.ok(maxAbsDiff(dx, tf.grad(f(ref))(x)) < 1e-5);
    assert.equal(layer.lastSavedBytes, 4 * 4 * 5);
  });
});

describe('mixed-precision bit allocation', () => {
  it('meets the budget and gives sensitive layers more bits', () => {
    const items = [
      { sensitivity: 100, size: 10 },
      { sensitivity: 1, size: 10 },
      { sensitivity: 10, size: 10 },
    ];
    const bits = allocateBits(items, 4);
    assert.ok(bits.reduce((s, b) => s + b * 10, 0) <= 4 * 30);
    assert.ok(bits[0] >= bits[2] && bits[2] >= bits[1], `${bits}`);
  });

  it('is no worse than uniform bits, and near the exhaustive optimum', () => {
    const rng = makeRng(3);
    const items = Array.from({ length: 5 }, () => ({
      sensitivity: rng() * 100,
      size: 1 + Math.floor(rng() * 5),
    }));
    const total = items.reduce((s, i) => s + i.size, 0);
    const bits = allocateBits(items, 2);
    const greedy = allocationCost(items, bits);
    assert.ok(
      greedy <=
        allocationCost(
          items,
          items.map(() => 2),
        ) +
          1e-9,
    );
    let best = Number.POSITIVE_INFINITY;
    const choices = [1, 2, 4, 8];
    const rec = (i: number, b: number[]) => {
      if (i === items.length) {
        if (b.reduce((s, v, j) => s + v * items[j].size, 0) <= 2 * total)
          best = Math.min(best, allocationCost(items, b));
        return;
      }
      for (const c of choices) rec(i + 1, [...b, c]);
    };
    rec(0, []);
    assert.ok(greedy <= best * 1.5, `greedy ${greedy} vs optimum ${best}`);
  });

  it('rejects impossible budgets', () => {
    assert.throws(() => allocateBits([{ sensitivity: 1, size: 1 }], 0.5), /below the narrowest/);
  });
});
