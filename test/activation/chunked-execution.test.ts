import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { CONV2D_GRADS } from '../../src/activation/backward/conv-grad.js';
import { type ActConfig, validateActConfig } from '../../src/activation/config.js';
import {
  batchDependentLayers,
  chunkRowsFor,
  forwardSplit,
  widestActivationBytes,
} from '../../src/activation/execution/chunked-execution.js';
import { chunkedMoments } from '../../src/activation/layers/compressed-batch-norm.js';
import { activationMemory } from '../../src/activation/measure.js';
import { compressForTraining } from '../../src/activation/training.js';
import { gatherBatch } from '../../src/data/dataset.js';
import { syntheticClassification } from '../../src/data/synthetic.js';
import { backwardChunkBytes, setBackwardChunkBytes } from '../../src/engine/settings.js';
import { classificationLoss, trainableVariables } from '../../src/train/step.js';
import { BACKENDS, maxAbsDiff, useBackend } from '../helpers.js';
import { assertLossFallsWithoutLeaks } from '../step-losses.js';

const data = syntheticClassification({ sampleShape: [10, 10, 1], numClasses: 3, seed: 2 });
const quiet = { warn: () => {} };

/** conv-relu, conv (no bias), maxpool, dense-relu, dense: batch-independent layers only. */
function model(seed: number, batchNorm = false): tf.LayersModel {
  const init = (s: number) => tf.initializers.glorotUniform({ seed: seed + s });
  const m = tf.sequential();
  m.add(
    tf.layers.conv2d({
      inputShape: [10, 10, 1],
      filters: 6,
      kernelSize: 3,
      activation: 'relu',
      kernelInitializer: init(1),
    }),
  );
  if (batchNorm) m.add(tf.layers.batchNormalization());
  m.add(
    tf.layers.conv2d({ filters: 4, kernelSize: 3, useBias: false, kernelInitializer: init(2) }),
  );
  m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  m.add(tf.layers.flatten());
  m.add(tf.layers.dense({ units: 8, activation: 'relu', kernelInitializer: init(3) }));
  m.add(tf.layers.dense({ units: 3, kernelInitializer: init(4) }));
  return m;
}

function batch(n: number) {
  const rows = Int32Array.from({ length: n }, (_, i) => i);
  return gatherBatch(data.train, data.sampleShape, data.numClasses, rows, 0, n);
}

async function converted(config: Partial<ActConfig>, batchNorm = false) {
  const base = model(7, batchNorm);
  const r = await compressForTraining(base, config, data, quiet);
  base.dispose();
  return r;
}

type Converted = Awaited<ReturnType<typeof converted>>;

/**
 * `body` on the model converted at `level` without and with a forward chunk of `rows` rows, and a
 * batch of the first `n` samples; all three are freed after it.
 */
async function wholeAndChunked(
  level: ActConfig['level'],
  rows: number,
  n: number,
  body: (whole: Converted, chunked: Converted, b: ReturnType<typeof batch>) => void,
) {
  const whole = await converted({ level, forwardChunk: 'off' });
  const chunked = await converted({ level, forwardChunk: rows });
  const b = batch(n);
  body(whole, chunked, b);
  tf.dispose([b.xs, b.ys]);
  whole.model.dispose();
  chunked.model.dispose();
}

function gradsOf(m: Converted, b: ReturnType<typeof batch>) {
  const vars = trainableVariables(m.model);
  return tf.tidy(() => {
    const { value, grads } = tf.variableGrads(
      () => classificationLoss(b.ys, m.forward(b.xs, true)),
      vars,
    );
    return { loss: value.dataSync()[0], grads: vars.map((v) => grads[v.name]) };
  });
}

for (const backend of BACKENDS) {
  describe(`chunked forward (${backend})`, () => {
    it('gives the gradients of the whole batch (float32 saves: equal to rounding)', async () => {
      await useBackend(backend);
      // chunks of 3, 3 and 2 samples
      await wholeAndChunked('L0', 3, 8, (whole, chunked, b) => {
        assert.equal(whole.chunkRows, null);
        assert.equal(chunked.chunkRows, 3);
        const a = gradsOf(whole, b);
        const c = gradsOf(chunked, b);
        assert.ok(Math.abs(a.loss - c.loss) < 1e-5, `loss ${a.loss} vs ${c.loss}`);
        a.grads.forEach((g, i) => {
          const scale = Math.max(1e-3, tf.max(tf.abs(g)).dataSync()[0]);
          assert.ok(maxAbsDiff(g, c.grads[i]) / scale < 1e-4, `weight ${i} differs`);
        });
        tf.dispose([...a.grads, ...c.grads]);
      });
    });

    it("skips the first layer's input gradient under the chunked forward (no one reads it)", async () => {
      await useBackend(backend);
      await wholeAndChunked('L3', 3, 8, (whole, chunked, b) => {
        // Input-gradient products on the 1-channel model input, counted by a spy.
        const input = CONV2D_GRADS.input;
        let onModelInput = 0;
        CONV2D_GRADS.input = (dy, w, xShape, strides, padding) => {
          if (xShape[3] === 1) onModelInput++;
          return input(dy, w, xShape, strides, padding);
        };
        try {
          tf.dispose(gradsOf(whole, b).grads);
          const wholeCount = onModelInput;
          onModelInput = 0;
          const before = tf.memory().numTensors;
          const g = gradsOf(chunked, b);
          assert.equal(
            tf.memory().numTensors,
            before + g.grads.length,
            'only the gradients are left',
          );
          assert.ok(wholeCount > 0, 'the whole-batch forward computes it (the spy sees it)');
          assert.equal(onModelInput, 0, 'the chunked forward does not');
          assert.ok(g.grads.every((t) => t.dataSync().every(Number.isFinite)));
          tf.dispose(g.grads);
        } finally {
          CONV2D_GRADS.input = input;
        }
      });
    });

    it('keeps the saved bytes and lowers the step peak; no tensors leak over steps', async () => {
      await useBackend(backend);
      await wholeAndChunked('L3', 4, 32, (whole, chunked, b) => {
        const mw = activationMemory(whole.model, whole.forward, b.xs, b.ys);
        const mc = activationMemory(chunked.model, chunked.forward, b.xs, b.ys);
        // Per-group scales of 8 chunks instead of one batch: a few bytes more, never a batch copy.
        assert.ok(
          mc.savedBytes < mw.savedBytes * 1.1,
          `saved ${mc.savedBytes} vs ${mw.savedBytes}`,
        );
        assert.ok(mc.peakBytes < 0.6 * mw.peakBytes, `peak ${mc.peakBytes} vs ${mw.peakBytes}`);
        const opt = tf.train.sgd(0.05);
        const ctx = { model: chunked.model, optimizer: opt, forward: chunked.forward };
        assertLossFallsWithoutLeaks(ctx, b, 6);
        opt.dispose();
      });
    });
  });
}

describe('chunked forward weight gradients', () => {
  it('hold no weight-sized buffer per chunk (a no-bias layer anchors on its kernel)', async () => {
    await useBackend('wasm');
    const wide = syntheticClassification({ sampleShape: [64], numClasses: 3, seed: 2 });
    const peak = async (forwardChunk: number) => {
      const m = tf.sequential();
      m.add(tf.layers.dense({ inputShape: [64], units: 512, useBias: false, activation: 'relu' }));
      m.add(tf.layers.dense({ units: 3 }));
      const r = await compressForTraining(m, { level: 'L3', forwardChunk }, wide, quiet);
      m.dispose();
      const rows = Int32Array.from({ length: 16 }, (_, i) => i);
      const b = gatherBatch(wide.train, wide.sampleShape, 3, rows, 0, 16);
      const bytes = activationMemory(r.model, r.forward, b.xs, b.ys).peakBytes;
      tf.dispose([b.xs, b.ys]);
      r.model.dispose();
      return bytes;
    };
    const kernelBytes = 4 * 64 * 512;
    const fourChunks = await peak(4);
    const sixteenChunks = await peak(1);
    assert.ok(
      sixteenChunks - fourChunks < kernelBytes,
      `16 chunks peak ${sixteenChunks} vs 4 chunks ${fourChunks}`,
    );
  });

  it('defer a large kernel product to the last chunk: no partial sums, the gradient unchanged', async () => {
    await useBackend('cpu');
    const wide = syntheticClassification({ sampleShape: [256], numClasses: 3, seed: 4 });
    const rows = Int32Array.from({ length: 16 }, (_, i) => i);
    const b = gatherBatch(wide.train, wide.sampleShape, 3, rows, 0, 16);
    const run = async (forwardChunk: number | 'off') => {
      const m = tf.sequential();
      const init = tf.initializers.glorotUniform({ seed: 5 });
      m.add(
        tf.layers.dense({
          inputShape: [256],
          units: 128,
          activation: 'relu',
          kernelInitializer: init,
        }),
      );
      m.add(
        tf.layers.dense({
          units: 3,
          kernelInitializer: tf.initializers.glorotUniform({ seed: 6 }),
        }),
      );
      const r = await compressForTraining(m, { level: 'L0', forwardChunk }, wide, quiet);
      m.dispose();
      const before = tf.memory().numTensors;
      const peak = activationMemory(r.model, r.forward, b.xs, b.ys).peakBytes;
      const g = gradsOf(r, b);
      const kernelGrad = g.grads[0].dataSync().slice();
      tf.dispose(g.grads);
      assert.equal(tf.memory().numTensors, before, 'no stashed factors are left behind');
      r.model.dispose();
      return { peak, kernelGrad };
    };
    const whole = await run('off');
    const chunked = await run(4); // 4 chunks: the 256x128 kernel's product is deferred
    const kernelBytes = 4 * 256 * 128;
    // Summing per-chunk products would hold the sum, a partial product and the new sum.
    assert.ok(chunked.peak < kernelBytes, `chunked peak ${chunked.peak} vs kernel ${kernelBytes}`);
    let worst = 0;
    const scale = Math.max(...whole.kernelGrad.map(Math.abs));
    whole.kernelGrad.forEach((v, i) => {
      worst = Math.max(worst, Math.abs(v - chunked.kernelGrad[i]));
    });
    assert.ok(worst / scale < 1e-5, `kernel gradient differs by ${worst / scale}`);
    tf.dispose([b.xs, b.ys]);
  });
});

describe('chunked forward settings', () => {
  it('sizes chunks from the widest layer output', async () => {
    await useBackend('cpu');
    const m = model(1);
    assert.equal(widestActivationBytes(m), 4 * 8 * 8 * 6);
    assert.equal(chunkRowsFor(m, 4 * 8 * 8 * 6 * 5 + 3), 5);
    assert.equal(chunkRowsFor(m, 10), 1);
    assert.throws(() => chunkRowsFor(m, 0), /chunk bytes/);
    m.dispose();
  });

  it('splits where the layers narrow: from the max pool on, chunks of 2 prefix chunks', async () => {
    await useBackend('cpu');
    const m = model(1);
    // Outputs per sample: 384, 144, 36, 36, 8, 3 floats. The first layer from which the suffix's
    // input and outputs are at most half the widest: the max pool (its input 144: 384 / 144 = 2).
    assert.deepEqual(forwardSplit(m), { cut: 2, group: 2 });
    const flat = tf.sequential();
    flat.add(tf.layers.dense({ inputShape: [8], units: 8 }));
    flat.add(tf.layers.dense({ units: 8 }));
    assert.equal(forwardSplit(flat), null, 'no layer is narrower');
    m.dispose();
    flat.dispose();
  });

  it('runs the head on the joined rows: one Dense call per suffix chunk, gradients unchanged', async () => {
    await useBackend('cpu');
    const whole = await converted({ level: 'L3', forwardChunk: 'off' });
    const chunked = await converted({ level: 'L3', forwardChunk: 2 });
    const dense = chunked.model.layers.find((l) => l.getClassName().includes('Dense'));
    assert.ok(dense);
    const rowsSeen: number[] = [];
    const call = dense.call.bind(dense);
    dense.call = (inputs, kwargs) => {
      rowsSeen.push((Array.isArray(inputs) ? inputs[0] : inputs).shape[0]);
      return call(inputs, kwargs);
    };
    const b = batch(22); // 11 prefix chunks of 2; suffix chunks of 4 rows, the last of 2
    const before = tf.memory().numTensors;
    const c = gradsOf(chunked, b);
    assert.deepEqual(rowsSeen, [4, 4, 4, 4, 4, 2]);
    assert.equal(tf.memory().numTensors, before + c.grads.length, 'only the gradients are left');
    const a = gradsOf(whole, b);
    // 2-bit saves quantized per chunk differ in their groups: compare loosely (same loss).
    assert.ok(Math.abs(a.loss - c.loss) < 1e-5, `loss ${a.loss} vs ${c.loss}`);
    tf.dispose([...a.grads, ...c.grads, b.xs, b.ys]);
    whole.model.dispose();
    chunked.model.dispose();
  });

  it('runs models with batch norm unchunked on auto and refuses a chunk size', async () => {
    await useBackend('cpu');
    const auto = await converted({ level: 'L3' }, true);
    assert.equal(auto.chunkRows, null);
    assert.deepEqual(batchDependentLayers(auto.model).length, 1);
    auto.model.dispose();
    await assert.rejects(
      converted({ level: 'L3', forwardChunk: 4 }, true),
      /forwardChunk 4.*mix samples/,
    );
  });

  it('batch-norm moments by row chunks equal tf.moments', async () => {
    await useBackend('cpu');
    const before = backwardChunkBytes();
    setBackwardChunkBytes(4 * 3 * 5 * 2 * 2); // two samples of [3, 5, 2] per chunk: 4 chunks of 7
    try {
      const x = tf.add(tf.mul(tf.randomNormal([7, 3, 5, 2], 0, 1, 'float32', 3), 2), 100);
      const ours = chunkedMoments(x, [0, 1, 2]);
      const ref = tf.moments(x, [0, 1, 2]);
      assert.ok(maxAbsDiff(ours.mean, ref.mean) < 1e-4);
      assert.ok(maxAbsDiff(ours.variance, ref.variance) < 1e-3);
      tf.dispose([x, ours.mean, ours.variance, ref.mean, ref.variance]);
    } finally {
      setBackwardChunkBytes(before);
    }
  });

  it('validates forwardChunk', () => {
    for (const bad of [0, -1, 2.5, 'on'])
      assert.throws(
        () => validateActConfig({ forwardChunk: bad as never }),
        /forwardChunk must be 'auto', 'off' or a positive integer/,
      );
    assert.equal(validateActConfig({}).forwardChunk, 'auto');
  });
});
