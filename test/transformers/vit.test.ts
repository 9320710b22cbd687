import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { compressActivations } from '../../src/activation/convert.js';
import { loadModel, saveModel } from '../../src/io/model-files.js';
import { useFastKernels, useStockKernels } from '../../src/kernels/index.js';
import { MultiHeadSelfAttention } from '../../src/models/layers/attention.js';
import {
  convertToGqkva,
  GqkvaAttention,
  gqkvaParams,
  headGroups,
} from '../../src/models/vit/gqkva.js';
import { keptRows, TokenRejoin, TokenSkip } from '../../src/models/vit/skip.js';
import { buildModel } from '../../src/models/zoo.js';
import { planRemat } from '../../src/remat/plan-model.js';
import { train } from '../../src/train/loop.js';
import { maxAbsDiff, useBackend } from '../helpers.js';
import { tinyData } from '../tiny-data.js';
import { TINY_VIT, tinyVit } from '../tiny-models.js';

/** Multi-query attention written out head by head: one shared key and value projection. */
function mqaReference(x: tf.Tensor3D, w: tf.Tensor[], h: number): tf.Tensor {
  return tf.tidy(() => {
    const [b, l, d] = x.shape;
    const dh = d / h;
    const flat = x.reshape([b * l, d]);
    const proj = (k: tf.Tensor, bias: tf.Tensor) => tf.add(tf.matMul(flat, k as tf.Tensor2D), bias);
    const k = proj(w[2], w[3]).reshape([b, l, dh]);
    const v = proj(w[4], w[5]).reshape([b, l, dh]);
    const heads: tf.Tensor[] = [];
    for (let i = 0; i < h; i++) {
      const q = proj(w[0].slice([0, i * dh], [d, dh]), w[1].slice([i * dh], [dh])).reshape([
        b,
        l,
        dh,
      ]);
      const p = tf.softmax(tf.div(tf.matMul(q, k, false, true), Math.sqrt(dh)));
      heads.push(tf.matMul(p, v));
    }
    const cat = tf.concat(heads, -1).reshape([b * l, d]);
    return tf.add(tf.matMul(cat, w[6] as tf.Tensor2D), w[7]).reshape([b, l, d]);
  });
}

describe('ViT, GQKVA, SkipViT', () => {
  before(() => useBackend('cpu'));

  it('GQKVA with one key/value group equals a multi-query reference on shared weights', () => {
    const layer = new GqkvaAttention({ numHeads: 4, queryGroups: 4, kvGroups: 1, seed: 3 });
    const x = tf.randomNormal([2, 5, 8], 0, 1, 'float32', 1) as tf.Tensor3D;
    const y = layer.apply(x) as tf.Tensor;
    const w = layer.getWeights().map((t) => tf.randomNormal(t.shape, 0, 0.5, 'float32', 9));
    layer.setWeights(w);
    const y2 = layer.apply(x) as tf.Tensor;
    assert.ok(maxAbsDiff(y, y2) > 1e-3, 'the new weights are used');
    assert.ok(maxAbsDiff(y2, mqaReference(x, w, 4)) < 1e-5);
  });

  it('GQKVA with g_q = g_kv = h equals multi-head attention with the same weights', () => {
    const mha = new MultiHeadSelfAttention({ numHeads: 2, causal: true, seed: 4 });
    const g = new GqkvaAttention({ numHeads: 2, causal: true, seed: 5 });
    const x = tf.randomNormal([2, 6, 8], 0, 1, 'float32', 2);
    const a = mha.apply(x) as tf.Tensor;
    g.apply(x);
    g.setWeights(mha.getWeights());
    assert.ok(maxAbsDiff(a, g.apply(x) as tf.Tensor) < 1e-6);
  });

  it('counts projection parameters d d_h (g_q + 2 g_kv) + d^2 (plus biases)', () => {
    const d = 16;
    for (const [h, gq, gkv] of [
      [4, 4, 4],
      [4, 4, 1],
      [4, 4, 2],
      [4, 1, 4],
      [4, 2, 2],
    ]) {
      const layer = new GqkvaAttention({ numHeads: h, queryGroups: gq, kvGroups: gkv });
      layer.apply(tf.zeros([1, 3, d]));
      const dh = d / h;
      assert.equal(layer.countParams(), d * dh * (gq + 2 * gkv) + dh * (gq + 2 * gkv) + d * d + d);
      assert.equal(layer.countParams(), gqkvaParams(d, h, gq, gkv));
    }
    // The all-pairs variant: every (query group, kv group) pair is one head.
    const { q, kv } = headGroups(6, 3, 2);
    assert.deepEqual(
      new Set(q.map((a, i) => `${a},${kv[i]}`)).size,
      6,
      'six distinct query/key pairs',
    );
  });

  it('rejects heads not divisible by groups, and groups too few for the heads', () => {
    assert.throws(
      () => new GqkvaAttention({ numHeads: 4, kvGroups: 3 }),
      /numHeads 4 is not divisible by kvGroups 3/,
    );
    assert.throws(
      () => new GqkvaAttention({ numHeads: 6, queryGroups: 4 }),
      /not divisible by queryGroups 4/,
    );
    assert.throws(
      () => new GqkvaAttention({ numHeads: 4, queryGroups: 1, kvGroups: 2 }),
      /exceeds/,
    );
    assert.throws(() => tinyVit({ kvGroups: 3 }), /not divisible by kvGroups 3/);
  });

  it('ViT: seeded [batch, classes] logits; GQKVA ViT saves and loads with the same output', async () => {
    const a = tinyVit();
    const b = tinyVit();
    const x = tf.randomUniform([2, 8, 8, 1], 0, 1, 'float32', 3);
    const ya = a.predict(x) as tf.Tensor;
    assert.deepEqual(ya.shape, [2, 3]);
    assert.equal(maxAbsDiff(ya, b.predict(x) as tf.Tensor), 0);
    assert.throws(() => tinyVit({ patchSize: 3 }), /patchSize 3 does not divide/);
    const g = buildModel('vit', { ...TINY_VIT, queryGroups: 2, kvGroups: 2, seed: 2 });
    assert.ok(g.countParams() < a.countParams());
    const dir = mkdtempSync(join(tmpdir(), 'frugal-vit-'));
    try {
      await saveModel(g, join(dir, 'm'));
      const back = await loadModel(join(dir, 'm'));
      assert.ok(back.layers.some((l) => l instanceof GqkvaAttention));
      assert.equal(maxAbsDiff(back.predict(x) as tf.Tensor, g.predict(x) as tf.Tensor), 0);
      const skip = tinyVit({ seed: 3, skip: { dropRatio: 0.5, fromBlock: 2 } });
      await saveModel(skip, join(dir, 's'));
      const skipBack = await loadModel(join(dir, 's'));
      assert.equal(maxAbsDiff(skipBack.predict(x) as tf.Tensor, skip.predict(x) as tf.Tensor), 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('converts a multi-head ViT by head pooling: exact at g = h, pooled means otherwise, then trains', async () => {
    const m = tinyVit({ seed: 4 });
    m.setWeights(m.getWeights().map((w, i) => tf.randomNormal(w.shape, 0, 0.3, 'float32', i)));
    const x = tf.randomUniform([2, 8, 8, 1], 0, 1, 'float32', 5);
    const same = await convertToGqkva(m, { queryGroups: 4, kvGroups: 4 });
    assert.ok(maxAbsDiff(same.model.predict(x) as tf.Tensor, m.predict(x) as tf.Tensor) < 1e-5);
    const r = await convertToGqkva(m, { queryGroups: 4, kvGroups: 2 });
    assert.deepEqual(r.converted, ['b1_attn', 'b2_attn', 'b3_attn']);
    const k = m.getLayer('b1_attn').getWeights()[2]; // key kernel [8, 8], head width 2
    const pooled = r.model.getLayer('b1_attn').getWeights()[2]; // [8, 4]
    const mean01 = tf.add(k.slice([0, 0], [8, 2]), k.slice([0, 2], [8, 2])).div(2);
    assert.ok(maxAbsDiff(pooled.slice([0, 0], [8, 2]), mean01) < 1e-6);
    assert.ok(r.model.countParams() < m.countParams());
    await assert.rejects(convertToGqkva(m, { queryGroups: 3, kvGroups: 1 }), /not divisible/);
    const data = tinyData([8, 8, 1], 32, 1, { testCount: 8 });
    const before = tf.memory().numTensors;
    const t = await train(r.model, data, {
      epochs: 1,
      batchSize: 16,
      seed: 1,
      measureMemory: false,
    });
    assert.ok(Number.isFinite(t.history[0].meanLoss));
    assert.equal(tf.memory().numTensors, before);
  });

  it('SkipViT at drop ratio 0 is the baseline ViT, bit for bit', () => {
    const base = tinyVit({ seed: 6 });
    const skip = tinyVit({
      seed: 6,
      skip: { dropRatio: 0, fromBlock: 2 },
    });
    assert.ok(skip.layers.some((l) => l instanceof TokenSkip));
    const x = tf.randomUniform([3, 8, 8, 1], 0, 1, 'float32', 7);
    assert.equal(maxAbsDiff(base.predict(x) as tf.Tensor, skip.predict(x) as tf.Tensor), 0);
    const half = tinyVit({
      seed: 6,
      skip: { dropRatio: 0.5, fromBlock: 2 },
    });
    assert.ok(maxAbsDiff(base.predict(x) as tf.Tensor, half.predict(x) as tf.Tensor) > 1e-6);
  });

  it('SkipViT: skipped tokens leave the skipped blocks unchanged, kept ones are processed', () => {
    const m = tinyVit({
      seed: 8,
      skip: { dropRatio: 0.5, fromBlock: 2, toBlock: 2 },
    });
    const x = tf.randomUniform([2, 8, 8, 1], 0, 1, 'float32', 9);
    const probe = tf.model({
      inputs: m.inputs,
      outputs: [m.getLayer('b1_add2').output, m.getLayer('rejoin').output] as tf.SymbolicTensor[],
    });
    const [before, after] = probe.predict(x) as tf.Tensor3D[];
    const [b, n] = before.shape;
    assert.equal(n, 17);
    const rows = keptRows(before, 9); // 16 patches, 8 skip
    assert.equal(rows.length, b * 9);
    const kept = new Set(rows);
    const bv = before.reshape([b * n, 8]).arraySync() as number[][];
    const av = after.reshape([b * n, 8]).arraySync() as number[][];
    let skipped = 0;
    for (let r = 0; r < b * n; r++) {
      if (kept.has(r)) assert.notDeepEqual(av[r], bv[r], `kept row ${r} went through block 2`);
      else {
        assert.deepEqual(av[r], bv[r], `skipped row ${r} is unchanged`);
        skipped++;
      }
    }
    assert.equal(skipped, b * 8);
    assert.ok(kept.has(0) && kept.has(n), 'class tokens are always kept');
    assert.throws(() => new TokenSkip({ dropRatio: 1 }), /drop ratio must be in \[0, 1\), got 1/);
    assert.throws(() => new TokenRejoin({ dropRatio: -0.1 }), /drop ratio/);
    assert.throws(() => tinyVit({ skip: { dropRatio: 0.5, fromBlock: 4 } }), /not a range/);
  });

  it('SkipViT trains (gradients through the gather) without leaking tensors', async () => {
    const m = tinyVit({ seed: 10, skip: { dropRatio: 0.5, fromBlock: 2 } });
    const data = tinyData([8, 8, 1], 32, 2, { testCount: 8 });
    const w0 = m.getLayer('b3_ff1').getWeights()[0].clone();
    await train(m, data, { epochs: 1, batchSize: 16, seed: 1, measureMemory: false });
    const n = tf.memory().numTensors;
    await train(m, data, { epochs: 1, batchSize: 16, seed: 2, measureMemory: false });
    assert.equal(tf.memory().numTensors, n);
    assert.ok(maxAbsDiff(w0, m.getLayer('b3_ff1').getWeights()[0]) > 0, 'skipped blocks train');
  });

  it('memory options: compressed activations convert the ViT, remat plans it', async () => {
    const m = tinyVit({ seed: 11 });
    const r = await compressActivations(m, { level: 'L3' }, { warn: () => {} });
    assert.deepEqual(
      r.unconverted.map((u) => u.name),
      ['patches', 'class_token', 'class_out'],
      'only the no-save reshape and the class-token layers stay float32',
    );
    assert.ok(r.converted.some((c) => c.to === 'FrugalCompressedMultiHeadSelfAttention'));
    const x = tf.randomUniform([2, 8, 8, 1], 0, 1, 'float32', 12);
    assert.ok(maxAbsDiff(r.model.predict(x) as tf.Tensor, m.predict(x) as tf.Tensor) < 1e-5);
    const batch = { xs: x, ys: tf.oneHot(tf.tensor1d([0, 1], 'int32'), 3).toFloat() };
    const plan = planRemat(m, batch, 1e9, { repeats: 1 });
    assert.ok(plan.chain.stages.length > 1);
    const y = plan.forward(x, true);
    assert.ok(maxAbsDiff(y, m.predict(x) as tf.Tensor) < 1e-5);
  });
});

describe('gatherRows', () => {
  it('has the gradient of tf.gather (repeated rows summed) and trains on wasm', async () => {
    const { gatherRows } = await import('../../src/models/vit/row-gather.js');
    await useBackend('cpu');
    const x = tf.randomNormal([5, 3], 0, 1, 'float32', 1) as tf.Tensor2D;
    const idx = tf.tensor1d([4, 0, 4, 2, 4], 'int32');
    const w = tf.randomNormal([5, 3], 0, 1, 'float32', 2);
    const f = (g: (a: tf.Tensor2D) => tf.Tensor) =>
      tf.grad((a: tf.Tensor) =>
        g(a as tf.Tensor2D)
          .mul(w)
          .sum(),
      )(x);
    assert.equal(maxAbsDiff(gatherRows(x, idx), tf.gather(x, idx)), 0);
    assert.ok(
      maxAbsDiff(
        f((a) => gatherRows(a, idx)),
        f((a) => tf.gather(a, idx)),
      ) < 1e-6,
    );
    await useBackend('wasm');
    useFastKernels(); // stock wasm has no Conv2DBackpropFilter (the patch embedding)
    const m = tinyVit({ kvGroups: 2, seed: 3, skip: { dropRatio: 0.5, fromBlock: 2 } });
    const data = tinyData([8, 8, 1], 16, 1, { testCount: 8 });
    const r = await train(m, data, { epochs: 1, batchSize: 16, seed: 1, measureMemory: false });
    assert.ok(Number.isFinite(r.history[0].meanLoss));
    useStockKernels();
    await useBackend('cpu');
  });
});
