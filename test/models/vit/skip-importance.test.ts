import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { loadModel, saveModel } from '../../../src/io/model-files.js';
import { MultiHeadSelfAttention } from '../../../src/models/layers/attention.js';
import { classAttention } from '../../../src/models/vit/class-attention.js';
import { GqkvaAttention, headGroups } from '../../../src/models/vit/gqkva.js';
import { keptRows, TokenSkip } from '../../../src/models/vit/skip.js';
import { skipWarmup } from '../../../src/models/vit/skip-schedule.js';
import { train } from '../../../src/train/loop.js';
import { maxAbsDiff, useBackend } from '../../helpers.js';
import { tinyData } from '../../tiny-data.js';
import { tinyVit } from '../../tiny-models.js';

/** Row 0 of every head's full attention matrix, averaged over the heads, written out head by head. */
function classRowReference(x: tf.Tensor3D, w: tf.Tensor[], h: number, gq: number, gkv: number) {
  return tf.tidy(() => {
    const [b, l, d] = x.shape;
    const dh = d / h;
    const flat = x.reshape([b * l, d]);
    const q = tf.add(tf.matMul(flat, w[0] as tf.Tensor2D), w[1]).reshape([b, l, gq * dh]);
    const k = tf.add(tf.matMul(flat, w[2] as tf.Tensor2D), w[3]).reshape([b, l, gkv * dh]);
    const groups = headGroups(h, gq, gkv);
    const rows: tf.Tensor[] = [];
    for (let i = 0; i < h; i++) {
      const qi = q.slice([0, 0, groups.q[i] * dh], [b, l, dh]);
      const ki = k.slice([0, 0, groups.kv[i] * dh], [b, l, dh]);
      const p = tf.softmax(tf.div(tf.matMul(qi, ki, false, true), Math.sqrt(dh))); // [b, l, l]
      rows.push(p.slice([0, 0, 0], [b, 1, l]).reshape([b, l]));
    }
    return tf.div(tf.addN(rows), h);
  });
}

describe('SkipViT importance, inference mode and warm-up', () => {
  before(() => useBackend('cpu'));

  it("classAttention equals the class token's row of the full attention, averaged over heads", () => {
    const x = tf.randomNormal([2, 7, 8], 0, 1, 'float32', 1) as tf.Tensor3D;
    for (const [gq, gkv] of [
      [4, 4],
      [4, 1],
      [2, 2],
      [1, 4],
    ]) {
      const layer =
        gq === 4 && gkv === 4
          ? new MultiHeadSelfAttention({ numHeads: 4, seed: 2 })
          : new GqkvaAttention({ numHeads: 4, queryGroups: gq, kvGroups: gkv, seed: 2 });
      layer.apply(x);
      const w = layer
        .getWeights()
        .map((t, i) => tf.randomNormal(t.shape, 0, 0.7, 'float32', 10 + i));
      layer.setWeights(w);
      const got = classAttention(x, layer);
      assert.deepEqual(got.shape, [2, 7]);
      assert.ok(
        maxAbsDiff(got, classRowReference(x, w, 4, gq, gkv)) < 1e-6,
        `g_q ${gq}, g_kv ${gkv}`,
      );
      assert.ok(maxAbsDiff(got.sum(1), tf.ones([2])) < 1e-5);
    }
  });

  it("'attention' keeps the class token and the tokens the first skipped block's class token attends to most", () => {
    const m = tinyVit({
      seed: 5,
      skip: { dropRatio: 0.5, fromBlock: 2, toBlock: 2, importance: 'attention' },
    });
    m.setWeights(m.getWeights().map((w, i) => tf.randomNormal(w.shape, 0, 0.5, 'float32', i)));
    const x = tf.randomUniform([3, 8, 8, 1], 0, 1, 'float32', 6);
    const probe = tf.model({
      inputs: m.inputs,
      outputs: [m.getLayer('b1_add2').output, m.getLayer('rejoin').output] as tf.SymbolicTensor[],
    });
    const [before, after] = probe.predict(x) as tf.Tensor3D[];
    const scores = classAttention(
      m.getLayer('b2_ln1').apply(before) as tf.Tensor3D,
      m.getLayer('b2_attn'),
    );
    const rows = keptRows(before, 9, scores);
    const s = scores.arraySync() as number[][];
    const kept = new Set(rows);
    for (let i = 0; i < 3; i++) {
      assert.ok(kept.has(i * 17), 'class token kept');
      const keptS = [...Array(16).keys()]
        .filter((j) => kept.has(i * 17 + j + 1))
        .map((j) => s[i][j + 1]);
      const dropS = [...Array(16).keys()]
        .filter((j) => !kept.has(i * 17 + j + 1))
        .map((j) => s[i][j + 1]);
      assert.equal(keptS.length, 8);
      assert.ok(Math.min(...keptS) >= Math.max(...dropS), 'kept tokens have the highest attention');
    }
    // Skipped rows pass block 2 unchanged; kept ones go through it.
    const bv = before.reshape([51, 8]).arraySync() as number[][];
    const av = after.reshape([51, 8]).arraySync() as number[][];
    for (let r = 0; r < 51; r++) {
      if (kept.has(r)) assert.notDeepEqual(av[r], bv[r]);
      else assert.deepEqual(av[r], bv[r]);
    }
    // The norm importance picks other tokens on these weights (the option changes something).
    assert.notDeepEqual([...keptRows(before, 9)], [...rows]);
  });

  it('skipAtInference false: prediction is the baseline ViT bit for bit, training still skips', () => {
    const base = tinyVit({ seed: 7 });
    const skip = tinyVit({
      seed: 7,
      skip: { dropRatio: 0.5, fromBlock: 2, importance: 'attention', skipAtInference: false },
    });
    const x = tf.randomUniform([2, 8, 8, 1], 0, 1, 'float32', 8);
    assert.equal(maxAbsDiff(base.predict(x) as tf.Tensor, skip.predict(x) as tf.Tensor), 0);
    const trainBase = base.apply(x, { training: true }) as tf.Tensor;
    const trainSkip = skip.apply(x, { training: true }) as tf.Tensor;
    assert.ok(maxAbsDiff(trainBase, trainSkip) > 1e-6, 'tokens skip in training');
    assert.throws(
      () => new TokenSkip({ dropRatio: 0.5, importance: 'cls' as 'norm' }),
      /importance must be one of attention, norm, got cls/,
    );
  });

  it('saves and loads importance and inference mode; the loaded model finds its scorer', async () => {
    const m = tinyVit({
      seed: 9,
      skip: { dropRatio: 0.5, fromBlock: 2, importance: 'attention' },
    });
    const x = tf.randomUniform([2, 8, 8, 1], 0, 1, 'float32', 3);
    const dir = mkdtempSync(join(tmpdir(), 'frugal-skipvit-'));
    try {
      await saveModel(m, join(dir, 'm'));
      const back = await loadModel(join(dir, 'm'));
      const layer = back.getLayer('skip') as TokenSkip;
      assert.equal(layer.importance, 'attention');
      assert.equal(layer.skipAtInference, true);
      assert.equal(maxAbsDiff(back.predict(x) as tf.Tensor, m.predict(x) as tf.Tensor), 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('skipWarmup drops no token for the first steps, then the configured ratio', () => {
    const m = tinyVit({ seed: 1, skip: { dropRatio: 0.5, fromBlock: 2 } });
    const layer = m.getLayer('skip') as TokenSkip;
    const cb = skipWarmup(m, 2);
    const seen: number[] = [];
    for (let i = 0; i < 4; i++) {
      cb.onBatchBegin();
      seen.push(layer.dropRatio);
    }
    assert.deepEqual(seen, [0, 0, 0.5, 0.5]);
    assert.throws(() => skipWarmup(m, 0), /steps must be a positive integer/);
    assert.throws(() => skipWarmup(tinyVit(), 3), /has no TokenSkip layer/);
  });

  it("trains with 'attention' importance and a warm-up without leaking tensors", async () => {
    const m = tinyVit({
      seed: 10,
      skip: { dropRatio: 0.5, fromBlock: 2, importance: 'attention', skipAtInference: false },
    });
    const data = tinyData([8, 8, 1], 48, 2, { testCount: 8 });
    const w0 = m.getLayer('b3_ff1').getWeights()[0].clone();
    const opts = { epochs: 1, batchSize: 16, seed: 1, measureMemory: false };
    await train(m, data, opts, { callbacks: skipWarmup(m, 1) });
    const n = tf.memory().numTensors;
    await train(m, data, { ...opts, seed: 2 });
    assert.equal(tf.memory().numTensors, n);
    assert.ok(maxAbsDiff(w0, m.getLayer('b3_ff1').getWeights()[0]) > 0);
  });
});
