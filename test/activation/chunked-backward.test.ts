import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import type { ActivationBits } from '../../src/activation/codec/bits.js';
import { packCodes, unpackCodeRange } from '../../src/activation/codec/pack.js';
import {
  dequantizeGroups,
  dequantizeSamples,
  quantizeGroups,
} from '../../src/activation/codec/quantize.js';
import {
  restoreRowsOf,
  saveExact,
  savePositiveMask,
  saveQuantized,
} from '../../src/activation/codec/saved.js';
import { rowsPerChunk } from '../../src/activation/execution/row-chunks.js';
import { CompressedMultiHeadSelfAttention } from '../../src/activation/layers/compressed-attention.js';
import { CompressedBatchNorm } from '../../src/activation/layers/compressed-batch-norm.js';
import { CompressedConv2D } from '../../src/activation/layers/compressed-conv2d.js';
import { CompressedDense } from '../../src/activation/layers/compressed-dense.js';
import { CompressedDepthwiseConv2D } from '../../src/activation/layers/compressed-depthwise-conv2d.js';
import type { CompressedLayer } from '../../src/activation/layers/compressed-layer.js';
import { CompressedLayerNorm } from '../../src/activation/layers/compressed-layer-norm.js';
import { CompressedMaxPool2D } from '../../src/activation/layers/compressed-max-pool.js';
import { makeRng } from '../../src/engine/random.js';
import {
  backwardChunkBytes,
  seedActivationRng,
  setBackwardChunkBytes,
} from '../../src/engine/settings.js';
import { MultiHeadSelfAttention } from '../../src/models/layers/attention.js';
import { formatTimeline, peakTimeline } from '../../src/report/peak-timeline.js';
import { BACKENDS, maxAbsDiff, useBackend } from '../helpers.js';

const DEFAULT_CHUNK = backwardChunkBytes();

/** Gradients of sum(y * r) w.r.t. the input and the layer's weights. */
function grads(layer: tf.layers.Layer, x: tf.Tensor): tf.Tensor[] {
  const vars = layer.trainableWeights.map((w) => w.read() as tf.Variable);
  return tf.tidy(() => {
    const f = (xx: tf.Tensor) => {
      const y = layer.apply(xx, { training: true }) as tf.Tensor;
      return tf.sum(tf.mul(y, tf.randomNormal(y.shape, 0, 1, 'float32', 99))) as tf.Scalar;
    };
    seedActivationRng(7);
    const dx = tf.grad(f)(x);
    if (vars.length === 0) return [dx];
    seedActivationRng(7);
    const { grads: g } = tf.variableGrads(() => f(x), vars);
    return [dx, ...vars.map((v) => g[v.name])];
  });
}

/** `grads(layer, x)` under the default backward chunk, then under chunks of `chunkBytes`. */
function wholeAndChunked(layer: tf.layers.Layer, x: tf.Tensor, chunkBytes: number) {
  setBackwardChunkBytes(DEFAULT_CHUNK);
  const whole = grads(layer, x);
  setBackwardChunkBytes(chunkBytes);
  return { whole, chunked: grads(layer, x) };
}

function conv(bits: ActivationBits, activation: string, strides: number) {
  const c = new CompressedConv2D({
    filters: 3,
    kernelSize: 3,
    padding: 'same',
    strides,
    activation,
  });
  c.apply(tf.zeros([5, 7, 6, 2]));
  c.setWeights(c.getWeights().map((w) => tf.randomNormal(w.shape, 0.2, 0.5, 'float32', 5)));
  c.actBits = bits;
  return c;
}

describe('row-range restores', () => {
  it('dequantizing a range of samples equals that slice of the whole', () => {
    const values = Float32Array.from({ length: 4 * 300 }, (_, i) => Math.sin(i * 0.37) * 3);
    for (const bits of [1, 2, 8] as const) {
      const q = quantizeGroups(values, 4, bits, makeRng(3));
      const all = dequantizeGroups(q);
      assert.deepEqual(dequantizeSamples(q, 1, 2), all.slice(300, 900));
      assert.deepEqual(dequantizeSamples(q, 3, 1), all.slice(900));
      assert.throws(() => dequantizeSamples(q, 3, 2), /samples 3\.\.5 not in 0\.\.4/);
    }
  });

  it('unpacking a code range equals that slice of the codes', () => {
    const codes = Uint8Array.from({ length: 77 }, (_, i) => (i * 7) % 4);
    const words = packCodes(codes, 2);
    assert.deepEqual(unpackCodeRange(words, 2, 13, 40), codes.slice(13, 53));
    assert.throws(() => unpackCodeRange(words, 2, 70, 20), /not all in/);
  });

  it('saved values restore the same rows as their whole restore', async () => {
    await useBackend('cpu');
    const x = tf.randomNormal([4, 3, 5], 0, 1, 'float32', 1);
    for (const s of [saveExact(x), saveQuantized(x, 2), savePositiveMask(x)]) {
      const whole = s.restore(s.tensors);
      const rows = restoreRowsOf(s, s.tensors, 1, 2);
      assert.deepEqual(rows.shape, [2, 3, 5]);
      assert.equal(maxAbsDiff(rows, whole.slice([1, 0, 0], [2, 3, 5])), 0);
    }
  });
});

describe('chunked conv2d backward', () => {
  after(() => setBackwardChunkBytes(DEFAULT_CHUNK));

  it('chunks of one sample give the gradients of a single chunk (same saved state)', async () => {
    await useBackend('cpu');
    const x = tf.randomNormal([5, 7, 6, 2], 0, 1, 'float32', 2);
    for (const [bits, act, strides] of [
      [2, 'relu', 1],
      [8, 'gelu', 2],
      [32, 'linear', 2],
      [4, 'tanh', 1],
    ] as const) {
      const layer = conv(bits, act, strides);
      setBackwardChunkBytes(DEFAULT_CHUNK);
      assert.equal(rowsPerChunk(5, 4 * 7 * 6 * 3), 5, 'default setting: one chunk here');
      const { whole, chunked } = wholeAndChunked(layer, x, 1);
      chunked.forEach((g, i) => {
        assert.deepEqual(g.shape, whole[i].shape);
        assert.ok(
          maxAbsDiff(g, whole[i]) < 1e-4,
          `${bits} ${act} grad ${i}: ${maxAbsDiff(g, whole[i])}`,
        );
      });
    }
  });

  it('exact saves in chunks give tfjs gradients', async () => {
    await useBackend('cpu');
    setBackwardChunkBytes(100);
    const x = tf.randomNormal([5, 7, 6, 2], 0, 1, 'float32', 3);
    const c = conv(32, 'relu', 2);
    const r = tf.layers.conv2d({
      filters: 3,
      kernelSize: 3,
      padding: 'same',
      strides: 2,
      activation: 'relu',
    });
    r.apply(x);
    r.setWeights(c.getWeights());
    const got = grads(c, x);
    grads(r, x).forEach((g, i) => {
      assert.ok(maxAbsDiff(got[i], g) < 1e-4, `grad ${i}: ${maxAbsDiff(got[i], g)}`);
    });
  });

  it('depthwise conv in chunks gives the one-chunk gradients, and tfjs gradients with exact saves', async () => {
    await useBackend('cpu');
    const x = tf.randomNormal([5, 7, 6, 3], 0, 1, 'float32', 10);
    const args = {
      kernelSize: 3,
      strides: 2,
      padding: 'same' as const,
      activation: 'relu' as const,
    };
    const r = tf.layers.depthwiseConv2d(args);
    r.apply(x);
    for (const bits of [2, 32] as const) {
      const c = new CompressedDepthwiseConv2D({ ...args, actBits: bits });
      c.apply(x);
      c.setWeights(r.getWeights().map((w) => tf.randomNormal(w.shape, 0.2, 0.5, 'float32', 11)));
      const { whole, chunked } = wholeAndChunked(c, x, 1);
      chunked.forEach((g, i) => {
        const e = maxAbsDiff(g, whole[i]);
        assert.ok(e < 1e-4, `${bits} bits grad ${i}: ${e}`);
      });
      if (bits === 32) {
        r.setWeights(c.getWeights());
        grads(r, x).forEach((g, i) => {
          const e = maxAbsDiff(chunked[i], g);
          assert.ok(e < 1e-4, `vs tfjs grad ${i}: ${e}`);
        });
      }
    }
    setBackwardChunkBytes(DEFAULT_CHUNK);
  });

  it('batch norm in chunks gives the one-chunk gradients, and tfjs gradients with exact saves', async () => {
    await useBackend('cpu');
    const x = tf.randomNormal([6, 3, 4, 5], 1, 2, 'float32', 6);
    const r = tf.layers.batchNormalization({});
    r.apply(x);
    for (const bits of [2, 32] as const) {
      const c = new CompressedBatchNorm({});
      c.apply(x);
      c.setWeights(r.getWeights().map((w) => tf.randomNormal(w.shape, 1, 0.3, 'float32', 7).abs()));
      c.actBits = bits;
      const { whole, chunked } = wholeAndChunked(c, x, 100);
      chunked.forEach((g, i) => {
        assert.ok(
          maxAbsDiff(g, whole[i]) < 1e-4,
          `${bits} bits grad ${i}: ${maxAbsDiff(g, whole[i])}`,
        );
      });
      if (bits === 32) {
        r.setWeights(c.getWeights());
        grads(r, x).forEach((g, i) => {
          assert.ok(
            maxAbsDiff(chunked[i], g) < 1e-3,
            `vs tfjs grad ${i}: ${maxAbsDiff(chunked[i], g)}`,
          );
        });
      }
    }
    setBackwardChunkBytes(DEFAULT_CHUNK);
  });

  it('max pooling with overlapping windows sums the gradient of each input', async () => {
    await useBackend('cpu');
    const x = tf.randomNormal([2, 7, 7, 3], 0, 1, 'float32', 4);
    const c = new CompressedMaxPool2D({ poolSize: 3, strides: 2, padding: 'same' });
    const r = tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' });
    assert.ok(maxAbsDiff(grads(c, x)[0], grads(r, x)[0]) < 1e-5);
  });

  for (const backend of BACKENDS) {
    it(`peak of a compressed conv step stays under the hand-derived bound (${backend})`, async () => {
      await useBackend(backend);
      // x [32, 12, 12, 4] -> conv 3x3 same, 8 filters, relu -> y [32, 12, 12, 8]; loss = sum(y).
      const n = 32;
      const X = n * 12 * 12 * 4 * 4;
      const Y = n * 12 * 12 * 8 * 4;
      const yRow = Y / n;
      const layer = new CompressedConv2D({
        filters: 8,
        kernelSize: 3,
        padding: 'same',
        activation: 'relu',
      });
      layer.actBits = 2;
      const x = tf.randomNormal([n, 12, 12, 4], 0, 1, 'float32', 5);
      layer.apply(x);
      const w = layer.trainableWeights.map((v) => v.read() as tf.Variable);
      const wBytes = (3 * 3 * 4 * 8 + 8) * 4;
      setBackwardChunkBytes(yRow); // one sample per chunk
      const step = () =>
        tf.tidy(() => {
          const { value, grads: g } = tf.variableGrads(
            () => tf.sum(layer.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
            w,
          );
          tf.dispose([value, ...Object.values(g)]);
        });
      step();
      const t = peakTimeline(step);
      // Live at worst during the backward: y (kept by the tape for sum's input), tfjs's Sum
      // gradient's ones(y) (built eagerly, so it lives until the backward ends) and dy, the dx rows made so far (at most X), the saved state (2-bit x: X/16 plus one min and
      // scale per 256 values; 1-bit mask: Y/32), and one chunk's temporaries: dy rows, mask rows,
      // dz rows, x rows, their transposes, dx rows (each at most one y row) plus partial weight
      // gradients. Budget 16 rows and 16 weight-sized tensors for those temporaries.
      const saved = X / 16 + (2 * 4 * X) / 4 / 256 + Y / 32;
      const bound = 3 * Y + X + saved + 16 * yRow + 16 * wBytes;
      // The unchunked backward held y, ones, dy, the float mask and dz at once: 5Y > bound.
      assert.ok(5 * Y > bound);
      assert.ok(
        t.peakBytes <= bound,
        `peak ${t.peakBytes} > bound ${bound}:\n${formatTimeline(t)}`,
      );
      const before = tf.memory().numTensors;
      step();
      assert.equal(tf.memory().numTensors, before, 'no tensors left behind');
      setBackwardChunkBytes(DEFAULT_CHUNK);
    });
  }
});

describe('chunked Dense, LayerNorm and attention backward', () => {
  after(() => setBackwardChunkBytes(DEFAULT_CHUNK));

  /** A compressed layer and its tfjs (or zoo) twin with the same random weights. */
  const twins = (shape: number[]) => {
    const pair = (c: CompressedLayer, r: tf.layers.Layer) => {
      c.apply(tf.zeros(shape));
      r.apply(tf.zeros(shape));
      c.setWeights(c.getWeights().map((w, i) => tf.randomNormal(w.shape, 0.3, 0.4, 'float32', i)));
      r.setWeights(c.getWeights());
      return { c, r };
    };
    return {
      'dense gelu': pair(
        new CompressedDense({ units: 6, activation: 'gelu' }),
        tf.layers.dense({ units: 6, activation: 'gelu' }),
      ),
      'dense relu': pair(
        new CompressedDense({ units: 3, activation: 'relu' }),
        tf.layers.dense({ units: 3, activation: 'relu' }),
      ),
      layernorm: pair(new CompressedLayerNorm({}), tf.layers.layerNormalization({})),
      attention: pair(
        new CompressedMultiHeadSelfAttention({ numHeads: 2 }),
        new MultiHeadSelfAttention({ numHeads: 2 }),
      ),
      'causal attention, per-sample bits': pair(
        new CompressedMultiHeadSelfAttention({ numHeads: 2, causal: true, perSample: true }),
        new MultiHeadSelfAttention({ numHeads: 2, causal: true }),
      ),
    };
  };

  for (const backend of BACKENDS)
    it(`chunks of samples give the one-chunk gradients, and tfjs's with exact saves (${backend})`, async () => {
      await useBackend(backend);
      const shape = [5, 4, 6];
      const x = tf.randomNormal(shape, 0, 1, 'float32', 8);
      for (const [name, { c, r }] of Object.entries(twins(shape)))
        for (const bits of [2, 32] as const) {
          c.actBits = bits;
          const { whole, chunked } = wholeAndChunked(c, x, 1);
          chunked.forEach((g, i) => {
            assert.deepEqual(g.shape, whole[i].shape);
            const e = maxAbsDiff(g, whole[i]);
            assert.ok(e < 1e-4, `${name} ${bits} bits grad ${i}: ${e}`);
          });
          if (bits === 32)
            grads(r, x).forEach((g, i) => {
              const e = maxAbsDiff(chunked[i], g);
              assert.ok(e < 1e-3, `${name} vs tfjs grad ${i}: ${e}`);
            });
          tf.dispose([...whole, ...chunked]);
        }
      setBackwardChunkBytes(DEFAULT_CHUNK);
    });

  it('chunks lower the peak of a 2-bit attention backward, leaking nothing', async () => {
    await useBackend('wasm');
    const x = tf.randomNormal([16, 12, 16], 0, 1, 'float32', 9);
    const layer = new CompressedMultiHeadSelfAttention({ numHeads: 4, actBits: 2 });
    layer.apply(x);
    const peak = (chunkBytes: number) => {
      setBackwardChunkBytes(chunkBytes);
      tf.dispose(grads(layer, x));
      const before = tf.memory().numTensors;
      const t = peakTimeline(() => tf.dispose(grads(layer, x)));
      assert.equal(tf.memory().numTensors, before);
      return t.peakBytes;
    };
    const whole = peak(DEFAULT_CHUNK);
    // One sample's largest tensor, the attention probabilities, is 4 x 12 x 12 floats.
    const chunked = peak(4 * 4 * 12 * 12 * 2);
    assert.ok(chunked < 0.75 * whole, `chunked peak ${chunked} vs whole-batch ${whole}`);
    setBackwardChunkBytes(DEFAULT_CHUNK);
  });
});
