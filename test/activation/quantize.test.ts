import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PACKED_BITS } from '../../src/activation/codec/bits.js';
import { packCodes, packedWords, unpackCodes } from '../../src/activation/codec/pack.js';
import {
  dequantizeGroups,
  GROUP_SIZE,
  quantizedBytes,
  quantizeGroups,
} from '../../src/activation/codec/quantize.js';
import { makeRng } from '../../src/engine/random.js';
import { seededNormals } from '../random-values.js';

function randomValues(n: number, seed: number): Float32Array {
  return Float32Array.from(seededNormals(n, seed, 3, 1));
}

describe('code packing', () => {
  it('round-trips codes of every width, 32/bits codes per word', () => {
    const rng = makeRng(1);
    for (const bits of PACKED_BITS) {
      const codes = Array.from({ length: 1001 }, () => Math.floor(rng() * 2 ** bits));
      const words = packCodes(codes, bits);
      assert.equal(words.length, packedWords(1001, bits));
      assert.equal(words.length, Math.ceil(1001 / (32 / bits)));
      assert.deepEqual(Array.from(unpackCodes(words, bits, 1001)), codes);
    }
  });

  it('packs 16 two-bit codes into one 32-bit word', () => {
    const words = packCodes(new Array(16).fill(3), 2);
    assert.equal(words.length, 1);
    assert.equal(words[0], -1);
  });

  it('rejects codes that do not fit', () => {
    assert.throws(() => packCodes([4], 2), /does not fit in 2 bits/);
    assert.throws(() => unpackCodes(new Int32Array(1), 2, 17), /fewer than 17/);
  });
});

describe('per-group stochastic quantization', () => {
  it('keeps groups per sample (tail padded) and counts min/scale bytes', () => {
    const q = quantizeGroups(randomValues(3 * 300, 2), 3, 2, makeRng(3));
    assert.equal(q.mins.length, 3 * 2);
    assert.equal(q.words.length, 3 * 2 * (GROUP_SIZE / 16));
    assert.equal(quantizedBytes(q), q.words.length * 4 + 6 * 8);
  });

  it('is exact for constant groups and stays within each group range', () => {
    const v = new Float32Array(512).fill(2.5);
    assert.deepEqual(
      Array.from(dequantizeGroups(quantizeGroups(v, 1, 1, makeRng(1)))),
      Array.from(v),
    );
    const x = randomValues(1000, 4);
    const d = dequantizeGroups(quantizeGroups(x, 2, 2, makeRng(5)));
    for (let i = 0; i < x.length; i++) {
      const g = Math.floor((i % 500) / GROUP_SIZE);
      const start = Math.floor(i / 500) * 500 + g * GROUP_SIZE;
      const grp = x.subarray(start, Math.min(start + GROUP_SIZE, Math.floor(i / 500) * 500 + 500));
      assert.ok(d[i] >= Math.min(...grp) - 1e-4 && d[i] <= Math.max(...grp) + 1e-4);
    }
  });

  it('is unbiased: the mean over many seeds converges to the input', () => {
    const x = randomValues(600, 6);
    const seeds = 400;
    const mean = new Float64Array(x.length);
    for (let s = 0; s < seeds; s++) {
      const d = dequantizeGroups(quantizeGroups(x, 2, 2, makeRng(100 + s)));
      for (let i = 0; i < x.length; i++) mean[i] += d[i] / seeds;
    }
    // One 2-bit step is about range/3 ~ 6; the std of a mean of 400 draws is below step/40.
    let worst = 0;
    for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(mean[i] - x[i]));
    assert.ok(worst < 0.6, `max |mean - x| = ${worst}`);
    let bias = 0;
    for (let i = 0; i < x.length; i++) bias += (mean[i] - x[i]) / x.length;
    assert.ok(Math.abs(bias) < 0.02, `average bias ${bias}`);
  });

  it('variance falls as bits rise (about 4x per extra bit)', () => {
    const x = randomValues(2048, 7);
    const mse = PACKED_BITS.map((bits) => {
      let e = 0;
      for (let s = 0; s < 4; s++) {
        const d = dequantizeGroups(quantizeGroups(x, 1, bits, makeRng(s + 1)));
        for (let i = 0; i < x.length; i++) e += (d[i] - x[i]) ** 2;
      }
      return e;
    });
    for (let i = 1; i < mse.length; i++) assert.ok(mse[i] < mse[i - 1] / 3, `mse ${mse}`);
  });

  it('rejects NaN activations and bad sample counts', () => {
    assert.throws(() => quantizeGroups([1, Number.NaN], 1, 2, makeRng(1)), /NaN/);
    assert.throws(() => quantizeGroups([1, 2, 3], 2, 2, makeRng(1)), /do not split/);
  });
});
