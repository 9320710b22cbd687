import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { decomposeModel } from '../../src/compress/decompose/decompose-model.js';
import { seededMlp } from '../tiny-models.js';

function model(): tf.LayersModel {
  return seededMlp(256, [
    [256, 'big'],
    [4, 'small'],
    [4, 'tiny'],
  ]);
}

for (const target of ['inference', 'training'] as const) {
  test(`decomposeModel select 'speed' for ${target}: decomposes the layer that gets faster (rank near the estimate), keeps the tiny one`, () => {
    const m = model();
    const before = tf.memory().numTensors;
    const { model: out, report } = decomposeModel(m, {
      method: 'svd',
      ratio: 0.1,
      select: 'speed',
      for: target,
      layers: { small: { skip: true }, tiny: { rank: 2 } },
    });
    const speed = report.speed ?? [];
    assert.deepEqual(
      speed.map((d) => d.layer),
      ['big', 'tiny'],
    );
    const big = speed[0];
    // 256x256 at 10% of the parameters: rank floor(0.1 * 256 * 256 / 512) = 12; 8 and 16 tried too;
    // tiny (4x4) at rank 2: the rounded rank 8 is impossible, so only 2
    assert.deepEqual(big.candidates.map((c) => c.rank).sort(), [12, 16, 8]);
    assert.ok(
      big.chosen !== null && [8, 12, 16].includes(big.chosen as number),
      JSON.stringify(big),
    );
    assert.ok(big.candidates.every((c) => c.ms > 0) && big.originalMs > 0);
    assert.deepEqual(
      speed[1].candidates.map((c) => c.rank),
      [2],
    );
    const names = out.layers.map((l) => l.name);
    assert.ok(names.includes('big_svd_in') && names.includes('tiny') && !names.includes('big'));
    assert.equal(report.layers.length, 1);
    out.dispose();
    assert.equal(tf.memory().numTensors, before);
  });
}

test("decompose config: select 'speed' needs for; for needs select", () => {
  const m = model();
  assert.throws(
    () => decomposeModel(m, { method: 'svd', ratio: 0.5, select: 'speed' }),
    /select 'speed' needs for/,
  );
  assert.throws(
    () => decomposeModel(m, { method: 'svd', ratio: 0.5, for: 'training' }),
    /for applies only with select: 'speed'/,
  );
});
