import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { decomposeModel } from '../../../src/compress/decompose/decompose-model.js';
import { rankForEnergy } from '../../../src/compress/decompose/rank-resolve.js';
import { roundRankForSpeed } from '../../../src/compress/decompose/rank-rounding.js';
import {
  allocateRanks,
  type RankCurve,
  selectRanks,
} from '../../../src/compress/decompose/rank-select.js';
import { roundSvdRanksForSpeed } from '../../../src/compress/decompose/round-config.js';
import { makeRng, normal } from '../../../src/engine/random.js';
import { useBackend } from '../../helpers.js';
import { tinyCnn } from '../../tiny-models.js';

/** Layer curve with sigma_i^2 fractions `energies` (descending) and a constant cost per rank step. */
function curve(layer: string, energies: number[], step: number): RankCurve {
  const options = energies.map((_, r) => ({
    rank: r + 1,
    cost: (r + 1) * step,
    error: energies.slice(r + 1).reduce((a, b) => a + b, 0),
  }));
  return { layer, options };
}

function bruteForce(curves: RankCurve[], budget: number): number {
  let best = Number.POSITIVE_INFINITY;
  const walk = (l: number, cost: number, err: number) => {
    if (cost > budget) return;
    if (l === curves.length) {
      best = Math.min(best, err);
      return;
    }
    for (const o of curves[l].options) walk(l + 1, cost + o.cost, err + o.error);
  };
  walk(0, 0, 0);
  return best;
}

/** MLP whose first kernel has a fast-decaying spectrum and whose second is white noise. */
function mixedSpectrumMlp(): tf.LayersModel {
  const model = tf.sequential();
  model.add(tf.layers.dense({ inputShape: [32], units: 32, activation: 'relu', name: 'lowrank' }));
  model.add(tf.layers.dense({ units: 32, name: 'noise' }));
  const rng = makeRng(4);
  const u = Array.from({ length: 32 * 3 }, () => normal(rng));
  const v = Array.from({ length: 3 * 32 }, () => normal(rng));
  const k1 = tf.add(
    tf.matMul(tf.tensor2d(u, [32, 3]), tf.tensor2d(v, [3, 32])),
    tf.randomNormal([32, 32], 0, 0.05, 'float32', 1),
  );
  model.getLayer('lowrank').setWeights([k1, tf.zeros([32])]);
  model
    .getLayer('noise')
    .setWeights([tf.randomNormal([32, 32], 0, 1, 'float32', 2), tf.zeros([32])]);
  return model;
}

describe('rank selection', () => {
  it('greedy allocation equals brute force on diminishing-returns curves with equal step costs', () => {
    const curves = [
      curve('a', [0.5, 0.2, 0.15, 0.1, 0.05], 10),
      curve('b', [0.7, 0.25, 0.03, 0.01, 0.01], 10),
      curve('c', [0.3, 0.3, 0.2, 0.1, 0.1], 10),
    ];
    for (const budget of [30, 50, 80, 110, 150]) {
      const picks = allocateRanks(curves, budget);
      const cost = [...picks.values()].reduce((s, o) => s + o.cost, 0);
      const err = [...picks.values()].reduce((s, o) => s + o.error, 0);
      assert.ok(cost <= budget);
      assert.ok(Math.abs(err - bruteForce(curves, budget)) < 1e-12, `budget ${budget}`);
    }
    assert.throws(
      () => allocateRanks(curves, 20),
      /rank budget 20 is too small: the smallest decompositions already cost 30/,
    );
  });

  it('under a global budget it gives the low-rank layer fewer parameters than uniform halving, with lower total error', async () => {
    await useBackend('cpu');
    const model = mixedSpectrumMlp();
    const sel = selectRanks(model, { ratio: 0.5 });
    assert.ok(sel.costAfter <= 0.5 * sel.costBefore);
    const low = sel.config.layers!.lowrank;
    const noise = sel.config.layers!.noise;
    assert.ok(typeof low.rank === 'number' && low.rank <= 4, JSON.stringify(low));
    assert.ok(
      noise.skip === true || (typeof noise.rank === 'number' && noise.rank > 8),
      JSON.stringify(noise),
    );
    const chosen = decomposeModel(model, sel.config);
    const uniform = decomposeModel(model, { method: 'svd', ratio: 0.5 });
    const sq = (r: typeof chosen) => r.report.layers.reduce((s, l) => s + l.relativeError ** 2, 0);
    assert.ok(chosen.report.paramsAfter <= uniform.report.paramsAfter + 64);
    assert.ok(sq(chosen) < sq(uniform), `${sq(chosen)} vs ${sq(uniform)}`);
  });

  it('supports a FLOP budget on a CNN and validates its options', async () => {
    await useBackend('cpu');
    const model = tinyCnn([4, 6], 8, 1);
    const sel = selectRanks(model, { cost: 'flops', ratio: 0.6, layers: ['conv2', 'dense1'] });
    assert.ok(sel.costAfter <= 0.6 * sel.costBefore);
    assert.deepEqual(Object.keys(sel.config.layers!).sort(), ['conv2', 'dense1']);
    assert.throws(
      () => selectRanks(model, { ratio: 0.5, budget: 3 }),
      /exactly one of ratio or budget/,
    );
    assert.throws(
      () => selectRanks(model, { ratio: 0.5, layers: ['zzz'] }),
      /unknown layer names zzz/,
    );
  });

  it('rankForEnergy returns the smallest rank reaching the energy', () => {
    const s = Float64Array.from([3, 2, 1]);
    assert.equal(rankForEnergy(s, 9 / 14), 1);
    assert.equal(rankForEnergy(s, 0.92), 2);
    assert.equal(rankForEnergy(s, 0.93), 3);
    assert.equal(rankForEnergy(s, 1), 3);
  });

  it('rank rounding times every candidate on the active backend and respects maxRank', async () => {
    await useBackend('wasm');
    const r = await roundRankForSpeed(64, 48, 13, { multiple: 8, reps: 3, batch: 8 });
    assert.deepEqual(
      r.timings.map((t) => t.rank),
      [8, 13, 16],
    );
    assert.ok(r.timings.every((t) => t.ms > 0));
    assert.ok([8, 13, 16].includes(r.rank));
    const capped = await roundRankForSpeed(64, 48, 13, { maxRank: 13, reps: 3, batch: 8 });
    assert.ok(capped.rank <= 13);
    await assert.rejects(roundRankForSpeed(64, 48, 0), /rank must be a positive integer/);
  });

  it('roundSvdRanksForSpeed never raises a rank and yields a config decomposeModel accepts', async () => {
    await useBackend('wasm');
    const model = mixedSpectrumMlp();
    const { config, rounded } = await roundSvdRanksForSpeed(
      model,
      { method: 'svd', ratio: 0.4 },
      { reps: 3, batch: 8 },
    );
    assert.deepEqual(
      rounded.map((r) => r.layer),
      ['lowrank', 'noise'],
    );
    for (const r of rounded) {
      assert.ok(r.to <= r.from);
      assert.equal(config.layers![r.layer].rank, r.to);
    }
    const { report } = decomposeModel(model, config);
    assert.ok(report.layers.every((l) => l.paramsAfter <= 0.4 * l.paramsBefore));
  });
});
