import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { ConfigError } from '../../src/config/index.js';
import type { Batch, ClassificationData } from '../../src/data/dataset.js';
import { initEngine } from '../../src/engine/backend.js';
import { makeRng } from '../../src/engine/random.js';
import {
  augmentImages,
  BATCH_AUGMENT_DEFAULTS,
  batchAugment,
  classQuotas,
  composeBatchPlans,
  dataRecipeConfig,
  keptCount,
  mixedSize,
  prepareDataRecipe,
  SWIFTLEARN_DEFAULTS,
  selectRows,
  swiftLearn,
} from '../../src/recipes/index.js';
import type { BatchPlan } from '../../src/train/batch-plan.js';
import type { TrainResult } from '../../src/train/loop.js';
import { tinyData } from '../tiny-data.js';
import { tinyCnn, tinyResnet } from '../tiny-models.js';
import { trainWithPlan } from './plan-train.js';

const data = () => tinyData([8, 8, 1], 40, 3, { testCount: 24 });

/**
 * A fresh tinyCnn([2, 3], 8, 1) trained on data() (seed 2) with the batch plan `planFor` makes
 * for it: the loop's result. The model is freed after.
 */
async function trainFresh(
  epochs: number,
  planFor: (model: tf.LayersModel) => BatchPlan | undefined,
): Promise<TrainResult> {
  const model = tinyCnn([2, 3], 8, 1);
  try {
    const run = await trainWithPlan(
      model,
      data(),
      { epochs, seed: 2 },
      { batchPlan: planFor(model) },
    );
    return run.result;
  } finally {
    model.dispose();
  }
}

/** The first two training images of `d` (8x8x1) as a batch labelled `labels` (3 classes). */
function firstTwo(d: ClassificationData, labels: [number, number]): Batch {
  return {
    xs: tf.tensor4d(d.train.x.slice(0, 2 * 64), [2, 8, 8, 1]),
    ys: tf.oneHot(tf.tensor1d(labels, 'int32'), 3).toFloat() as tf.Tensor2D,
    labels: Int32Array.from(labels),
    size: 2,
  };
}

/** A plan that records each step's batch (size and image height) without changing it. */
function spy(seen: { size: number; height: number; step: number }[]): BatchPlan {
  return {
    transform: (b: Batch, step) => {
      seen.push({ size: b.size, height: b.xs.shape[1] as number, step });
      return b;
    },
  };
}

describe('recipes: SwiftLearn', () => {
  const cfg = {
    keep: 0.3,
    warmupEpochs: 1,
    every: 2,
    score: 'el2n' as const,
    select: 'top' as const,
    balance: 'none' as const,
  };
  it('trains warm-up epochs on all data, then on the top keep fraction, re-scoring every sample every K epochs', async () => {
    const d = data();
    const model = tinyCnn([2, 3], 8, 1);
    const sl = swiftLearn(model, cfg);
    const before = tf.memory().numTensors;
    const { epochSteps } = await trainWithPlan(model, d, { epochs: 5 }, { batchPlan: sl });
    assert.equal(tf.memory().numTensors, before);
    // 40 rows / 8 = 5 steps in warm-up; 12 kept rows (0.3 of 40) / 8 = 2 steps after.
    assert.deepEqual(epochSteps, [5, 2, 2, 2, 2]);
    assert.deepEqual(sl.state.scoredAt, [2, 4]);
    assert.deepEqual(sl.state.scoredCounts, [40, 40]);
    const kept = sl.state.kept as Int32Array;
    const scores = sl.state.scores as Float32Array;
    assert.equal(kept.length, 12);
    const keptSet = new Set(kept);
    const minKept = Math.min(...Array.from(kept, (r) => scores[r]));
    for (let r = 0; r < 40; r++) if (!keptSet.has(r)) assert.ok(scores[r] <= minKept);
    assert.ok(sl.state.scoringMs > 0);
    model.dispose();
  });

  it('is deterministic under a seed', async () => {
    const run = async () => {
      let sl: ReturnType<typeof swiftLearn> | undefined;
      const r = await trainFresh(3, (model) => {
        sl = swiftLearn(model, cfg);
        return sl;
      });
      return {
        h: r.history.map((e) => [e.meanLoss, e.testAccuracy]),
        kept: Array.from(sl?.state.kept ?? []),
      };
    };
    assert.deepEqual(await run(), await run());
  });

  it('keeps each class its share of the rows (a global top-k keeps whole hard classes)', () => {
    // Class 0 has every high score: a global ranking keeps only class 0 (the bug that made
    // bench:recipes accuracy fall after scoring); per class, each class keeps 30% of its rows.
    const labels = Int32Array.from({ length: 60 }, (_, i) => i % 3);
    const scores = Float32Array.from(labels, (y, i) => (y === 0 ? 10 : 0) + i / 100);
    const counts = (rows: Int32Array) =>
      [0, 1, 2].map((c) => rows.filter((r) => labels[r] === c).length);
    assert.deepEqual(counts(selectRows(scores, 0.3)), [18, 0, 0]);
    const kept = selectRows(scores, 0.3, { labels, numClasses: 3 });
    assert.deepEqual(counts(kept), [6, 6, 6]);
    // 'top' within a class: the highest scores of that class.
    for (const c of [0, 1, 2]) {
      const mine = Array.from(kept).filter((r) => labels[r] === c);
      const rest = Array.from(labels.keys()).filter((r) => labels[r] === c && !mine.includes(r));
      assert.ok(Math.min(...mine.map((r) => scores[r])) >= Math.max(...rest.map((r) => scores[r])));
    }
    assert.deepEqual(
      Array.from(kept),
      [...kept].sort((a, b) => a - b),
    );
  });

  it('class quotas add up to the kept count, by largest remainder, one at least per class', () => {
    const labels = Int32Array.from([0, 0, 0, 0, 0, 0, 0, 1, 1, 2]);
    assert.deepEqual(classQuotas(labels, 3, 0.3), [2, 1, 0]);
    assert.deepEqual(classQuotas(labels, 4, 0.5), [3, 1, 1, 0]);
    assert.deepEqual(classQuotas(labels, 3, 0.1), [1, 0, 0]);
    for (const keep of [0.05, 0.3, 0.55, 0.9]) {
      const q = classQuotas(labels, 3, keep);
      assert.equal(
        q.reduce((a, b) => a + b, 0),
        keptCount(10, keep),
      );
    }
  });

  it("'sample' draws rows with probability proportional to the score", () => {
    // One row of four: P(row i) = w_i / sum w exactly for Efraimidis-Spirakis keys.
    const w = Float32Array.from([1, 2, 3, 4]);
    const rng = makeRng(5);
    const n = 20000;
    const hits = [0, 0, 0, 0];
    for (let t = 0; t < n; t++) hits[selectRows(w, 0.25, { select: 'sample', rng })[0]]++;
    w.forEach((wi, i) => {
      const p = wi / 10;
      const sd = Math.sqrt((p * (1 - p)) / n);
      assert.ok(Math.abs(hits[i] / n - p) < 4 * sd, `row ${i}: ${hits[i] / n} vs ${p}`);
    });
    // A zero score is never drawn while positive scores remain.
    const z = Float32Array.from([0, 1, 1, 0]);
    for (let t = 0; t < 200; t++) {
      const r = selectRows(z, 0.5, { select: 'sample', rng });
      assert.deepEqual(Array.from(r), [1, 2]);
    }
    assert.throws(() => selectRows(w, 0.5, { select: 'sample' }), /needs an rng/);
  });

  it('the default plan keeps the class proportions of the training split at every scoring', async () => {
    const d = data();
    const model = tinyCnn([2, 3], 8, 1);
    const prepared = prepareDataRecipe(model, d, dataRecipeConfig({ swiftlearn: { every: 1 } }), {
      seed: 3,
    });
    const sl = prepared.swiftlearn as NonNullable<typeof prepared.swiftlearn>;
    const keptSets: number[][] = [];
    await trainWithPlan(
      model,
      d,
      { epochs: 3 },
      {
        batchPlan: prepared.plan,
        hooks: prepared.hooks,
        onProgress: (e) => {
          if (e.kind === 'epoch-start' && sl.state.kept) keptSets.push(Array.from(sl.state.kept));
        },
      },
    );
    assert.deepEqual(sl.state.scoredAt, [2, 3]);
    const quotas = classQuotas(d.train.y, d.numClasses, 0.3);
    for (const kept of keptSets) {
      const counts = new Array(d.numClasses).fill(0);
      for (const r of kept) counts[d.train.y[r]]++;
      assert.deepEqual(counts, quotas);
    }
    model.dispose();
  });

  it('redraw: a fresh per-class importance draw every epoch from the last scores, no extra scoring', async () => {
    const d = data();
    const model = tinyCnn([2, 3], 8, 1);
    const sl = swiftLearn(model, {
      ...cfg,
      every: 3,
      select: 'sample',
      balance: 'class',
      redraw: true,
      seed: 4,
    });
    const keptSets: number[][] = [];
    const before = tf.memory().numTensors;
    await trainWithPlan(
      model,
      d,
      { epochs: 6 },
      {
        batchPlan: {
          epochRows: (e, dd) => {
            const rows = sl.epochRows?.(e, dd);
            if (rows) keptSets.push(Array.from(rows));
            return rows;
          },
        },
      },
    );
    assert.equal(tf.memory().numTensors, before);
    // Scored at epochs 2 and 5 only (every 3); drawn at every epoch after the warm-up.
    assert.deepEqual(sl.state.scoredAt, [2, 5]);
    assert.deepEqual(sl.state.scoredCounts, [40, 40]);
    assert.deepEqual(sl.state.drawnAt, [2, 3, 4, 5, 6]);
    assert.equal(keptSets.length, 5);
    const quotas = classQuotas(d.train.y, d.numClasses, 0.3);
    for (const kept of keptSets) {
      const counts = new Array(d.numClasses).fill(0);
      for (const r of kept) counts[d.train.y[r]]++;
      assert.deepEqual(counts, quotas);
    }
    // Epochs 3 and 4 reuse epoch 2's scores but not its rows (12 of 40 rows drawn anew).
    assert.notDeepEqual(keptSets[1], keptSets[0]);
    assert.notDeepEqual(keptSets[2], keptSets[1]);
    assert.throws(
      () => swiftLearn(model, { ...cfg, select: 'top', redraw: true }),
      /redraw applies to select 'sample'/,
    );
    model.dispose();
  });

  it('an empty plan trains exactly as no plan', async () => {
    const run = async (plan?: BatchPlan) =>
      (await trainFresh(2, () => plan)).history.map((e) => e.meanLoss);
    assert.deepEqual(await run({}), await run());
  });
});

describe('recipes: batch augmentation', () => {
  const img = () =>
    tf.tidy(() => tf.randomUniform([3, 8, 8, 1], 0.1, 1, 'float32', 5) as tf.Tensor4D);

  it('a shift is the image moved by at most `shift` pixels with zero fill', () => {
    const x = img();
    const y = augmentImages(x, { shift: 2, cutout: 0, flip: false }, makeRng(1));
    assert.deepEqual(y.shape, x.shape);
    const xv = x.arraySync();
    const yv = y.arraySync();
    for (let n = 0; n < 3; n++) {
      let found = false;
      for (let dy = -2; dy <= 2 && !found; dy++)
        for (let dx = -2; dx <= 2 && !found; dx++) {
          let ok = true;
          for (let i = 0; i < 8 && ok; i++)
            for (let j = 0; j < 8 && ok; j++) {
              const si = i + dy;
              const sj = j + dx;
              const want = si >= 0 && si < 8 && sj >= 0 && sj < 8 ? xv[n][si][sj][0] : 0;
              ok = Math.abs(yv[n][i][j][0] - want) < 1e-6;
            }
          found = ok;
        }
      assert.ok(found, `image ${n} is not a shift of its input`);
    }
    tf.dispose([x, y]);
  });

  it('a shift moves each image by the drawn offsets, on the cpu and the wasm backend', async () => {
    // The wasm backend's cropAndResize ignored the box's x offset; the shift must not depend on it.
    const p = 2;
    const xv = tf
      .tidy(() => tf.randomUniform([6, 7, 9, 2], 0.1, 1, 'float32', 8))
      .arraySync() as number[][][][];
    const ref = (seed: number) => {
      const rng = makeRng(seed);
      return xv.map((im) => {
        const dy = -p + Math.floor(rng() * (2 * p + 1));
        const dx = -p + Math.floor(rng() * (2 * p + 1));
        return im.map((row, i) =>
          row.map((_, j) => {
            const si = i + dy;
            const sj = j + dx;
            return si >= 0 && si < 7 && sj >= 0 && sj < 9 ? im[si][sj] : [0, 0];
          }),
        );
      });
    };
    const previous = tf.getBackend();
    try {
      for (const backend of ['cpu', 'wasm'] as const) {
        await initEngine({ backend });
        const x = tf.tensor4d(xv);
        const y = augmentImages(x, { shift: p, cutout: 0, flip: false }, makeRng(11));
        assert.deepEqual(
          (y.arraySync() as number[][][][]).flat(3).map((v) => v.toFixed(5)),
          ref(11)
            .flat(3)
            .map((v) => v.toFixed(5)),
          `${backend}: shifted images`,
        );
        tf.dispose([x, y]);
      }
    } finally {
      await tf.setBackend(previous);
    }
  });

  it('cutout zeroes at most a square and keeps the rest; a flip is the mirror or the image', () => {
    const x = img();
    const c = augmentImages(x, { shift: 0, cutout: 4, flip: false }, makeRng(2));
    const xv = x.dataSync();
    const cv = c.dataSync();
    for (let n = 0; n < 3; n++) {
      let zeros = 0;
      for (let k = n * 64; k < (n + 1) * 64; k++) {
        if (cv[k] === 0) zeros++;
        else assert.equal(cv[k], xv[k]);
      }
      assert.ok(zeros > 0 && zeros <= 16, `image ${n}: ${zeros} zeroed pixels`);
    }
    const f = augmentImages(x, { shift: 0, cutout: 0, flip: true }, makeRng(3));
    const mirror = tf.reverse(x, 2);
    const fv = f.arraySync();
    const xa = x.arraySync();
    const ma = mirror.arraySync();
    for (let n = 0; n < 3; n++)
      assert.ok(
        JSON.stringify(fv[n]) === JSON.stringify(xa[n]) ||
          JSON.stringify(fv[n]) === JSON.stringify(ma[n]),
      );
    tf.dispose([x, c, f, mirror]);
  });

  it('puts M independently augmented copies of each sample in the batch, deterministically, without leaks', async () => {
    const d = data();
    const plan = batchAugment({ copies: 3, shift: 2, cutout: 3, flip: false, seed: 4 });
    const b = firstTwo(d, [0, 1]);
    const before = tf.memory().numTensors;
    const t = plan.transform?.(b, 7) as Batch;
    const t2 = plan.transform?.(b, 7) as Batch;
    assert.deepEqual(t.xs.shape, [6, 8, 8, 1]);
    assert.deepEqual(Array.from(t.labels), [0, 0, 0, 1, 1, 1]);
    assert.deepEqual(
      t.ys.arraySync(),
      tf.tidy(() => tf.oneHot(tf.tensor1d([0, 0, 0, 1, 1, 1], 'int32'), 3).arraySync()),
    );
    const rows = tf.tidy(() => t.xs.reshape([6, 64]).arraySync() as number[][]);
    assert.notDeepEqual(rows[0], rows[1]);
    assert.notDeepEqual(rows[1], rows[2]);
    assert.deepEqual(t.xs.dataSync(), t2.xs.dataSync());
    tf.dispose([t.xs, t.ys, t2.xs, t2.ys]);
    assert.equal(tf.memory().numTensors, before);
    tf.dispose([b.xs, b.ys]);
    // In the loop: same number of steps as plain, M x B images each.
    const seen: { size: number; height: number; step: number }[] = [];
    const model = tinyCnn([2, 3], 8, 1);
    const n0 = tf.memory().numTensors;
    const { result: r } = await trainWithPlan(
      model,
      d,
      { epochs: 1 },
      { batchPlan: composeBatchPlans([plan, spy(seen)]) },
    );
    assert.equal(tf.memory().numTensors, n0);
    assert.equal(r.steps, 5);
    assert.deepEqual(
      seen.map((s) => s.size),
      [24, 24, 24, 24, 24],
    );
    model.dispose();
  });
});

describe('recipes: mixed-size training', () => {
  it('draws a size per step, scales the batch by (base/size)^2, evaluates at the base size, no leaks', async () => {
    const d = data();
    const model = tinyResnet([4], 1);
    const prepared = prepareDataRecipe(
      model,
      d,
      dataRecipeConfig({ mixedSize: { sizes: [4, 8] } }),
      { seed: 5 },
    );
    const seen: { size: number; height: number; step: number }[] = [];
    const before = tf.memory().numTensors;
    const { result: r } = await trainWithPlan(
      model,
      d,
      { epochs: 2, batchSize: 4 },
      { batchPlan: composeBatchPlans([prepared.plan as BatchPlan, spy(seen)]) },
    );
    assert.equal(tf.memory().numTensors, before);
    const ref = mixedSize({ sizes: [4, 8], probabilities: null, mode: 'batch', seed: 5 }, 8);
    const heights = new Set(seen.map((s) => s.height));
    assert.deepEqual([...heights].sort(), [4, 8]);
    // Each epoch's 40 rows split into batches of 4 (size 8) or 16 (size 4); the last takes the rest.
    let left = 40;
    for (const s of seen) {
      assert.equal(s.height, ref.sizeAt(s.step));
      const want = s.height === 4 ? 16 : 4;
      assert.equal(s.size, Math.min(want, left));
      left -= s.size;
      if (left === 0) left = 40;
    }
    assert.ok(r.testAccuracy >= 0 && r.history.length === 2);
    model.dispose();
  });

  it("'duplicates' keeps the batch and repeats each sample (base/size)^2 times", async () => {
    const d = data();
    const plan = mixedSize({ sizes: [4], probabilities: null, mode: 'duplicates', seed: 1 }, 8);
    const b = firstTwo(d, [0, 2]);
    const before = tf.memory().numTensors;
    const t = plan.transform?.(b, 0) as Batch;
    assert.deepEqual(t.xs.shape, [8, 4, 4, 1]);
    assert.deepEqual(Array.from(t.labels), [0, 0, 0, 0, 2, 2, 2, 2]);
    tf.dispose([t.xs, t.ys]);
    assert.equal(tf.memory().numTensors, before);
    tf.dispose([b.xs, b.ys]);
  });

  it('refuses a Flatten-head model and sizes that change nothing', () => {
    const d = data();
    const cnn = tinyCnn([2, 3], 8, 1);
    assert.throws(
      () => prepareDataRecipe(cnn, d, dataRecipeConfig({ mixedSize: { sizes: [6, 8] } })),
      /Flatten layer \('flatten'\).*global pooling/,
    );
    const res = tinyResnet([4], 1);
    assert.throws(
      () => prepareDataRecipe(res, d, dataRecipeConfig({ mixedSize: { sizes: [8] } })),
      /changes nothing/,
    );
    tf.dispose([cnn, res].flatMap((m) => m.weights.map((w) => w.read())));
  });
});

describe('recipes: data recipe config', () => {
  it('fills defaults and names the bad field', () => {
    const c = dataRecipeConfig({ swiftlearn: {}, batchAugment: { copies: 4 } });
    assert.deepEqual(c.swiftlearn, SWIFTLEARN_DEFAULTS);
    assert.deepEqual(c.batchAugment, { ...BATCH_AUGMENT_DEFAULTS, copies: 4 });
    // select 'top' draws nothing: the sampling defaults (redraw, mix, weighted) are off with it.
    const top = dataRecipeConfig({ swiftlearn: { select: 'top' } }).swiftlearn;
    assert.deepEqual([top?.redraw, top?.mix, top?.weighted], [false, 0, false]);
    const field = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        assert.ok(e instanceof ConfigError, String(e));
        return e.field;
      }
      assert.fail('no error');
    };
    assert.equal(
      field(() => dataRecipeConfig({ swiftlearn: { keep: 1 } })),
      'swiftlearn.keep',
    );
    assert.equal(
      field(() => dataRecipeConfig({ swiftlearn: { select: 'top', redraw: true } })),
      'swiftlearn.redraw',
    );
    assert.equal(
      field(() => dataRecipeConfig({ swiftlearn: { select: 'top', mix: 0.5 } })),
      'swiftlearn.mix',
    );
    assert.equal(
      field(() => dataRecipeConfig({ swiftlearn: { select: 'top', weighted: true } })),
      'swiftlearn.weighted',
    );
    assert.equal(
      field(() => dataRecipeConfig({ swiftlearn: { mix: 1.5 } })),
      'swiftlearn.mix',
    );
    assert.equal(
      field(() => dataRecipeConfig({ batchAugment: { copies: 1 } })),
      'batchAugment.copies',
    );
    assert.equal(
      field(() => dataRecipeConfig({ mixedSize: { sizes: [4, 6], probabilities: [1] } })),
      'mixedSize.probabilities',
    );
    assert.equal(
      field(() => dataRecipeConfig({ batchAugment: { shift: 0, cutout: 0 } })),
      'batchAugment',
    );
  });
});
