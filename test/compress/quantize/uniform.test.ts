import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { codesPerWord, packCodes, unpackCodes } from '../../../src/compress/quantize/pack.js';
import {
  dequantizeValues,
  type QuantScheme,
  quantizeValues,
} from '../../../src/compress/quantize/uniform.js';
import { makeRng, normal } from '../../../src/engine/random.js';

function randomWeights(count: number, channels: number, seed: number): Float32Array {
  const rng = makeRng(seed);
  // channels with very different ranges, as in real layers
  return Float32Array.from({ length: count }, (_, i) => normal(rng) * 0.05 * (1 + (i % channels)));
}

function mse(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return s / a.length;
}

describe('code packing', () => {
  for (const bits of [1, 2, 3, 4, 7, 8]) {
    it(`round-trips ${bits}-bit codes, ${codesPerWord(bits)} per int32 word`, () => {
      const rng = makeRng(bits);
      const codes = Array.from({ length: 101 }, () => Math.floor(rng() * 2 ** bits));
      const words = packCodes(codes, bits);
      assert.equal(words.length, Math.ceil(101 / codesPerWord(bits)));
      assert.deepEqual(Array.from(unpackCodes(words, bits, 101)), codes);
    });
  }
  it('rejects codes that do not fit', () => {
    assert.throws(() => packCodes([16], 4), /code 16 at 0 does not fit in 4 bits/);
    assert.throws(() => codesPerWord(0), /from 1 to 16 bits/);
  });
});

describe('uniform quantization', () => {
  const channels = 8;
  const w = randomWeights(800, channels, 3);
  const channelOf = (i: number) => i % channels;
  for (const scheme of ['symmetric', 'affine'] as QuantScheme[]) {
    for (const granularity of ['tensor', 'channel'] as const) {
      for (const bits of [2, 4, 8]) {
        it(`${scheme} ${granularity} ${bits}-bit: every error <= scale/2`, () => {
          const q = quantizeValues(w, { bits, scheme, granularity }, channels, channelOf);
          const back = dequantizeValues(q, channelOf);
          for (let i = 0; i < w.length; i++) {
            const s = q.scale[granularity === 'channel' ? channelOf(i) : 0];
            assert.ok(Math.abs(back[i] - w[i]) <= s / 2 + 1e-7, `value ${i}`);
          }
          const distinct = new Set(q.codes).size;
          assert.ok(distinct <= 2 ** bits);
        });
      }
    }
    it(`${scheme}: per-channel beats per-tensor at 4 bits`, () => {
      const per = (g: 'tensor' | 'channel') => {
        const q = quantizeValues(w, { bits: 4, scheme, granularity: g }, channels, channelOf);
        return mse(w, dequantizeValues(q, channelOf));
      };
      assert.ok(per('channel') < per('tensor') * 0.5, `${per('channel')} vs ${per('tensor')}`);
    });
  }
  it('symmetric keeps zero exact; bad specs are named', () => {
    const q = quantizeValues(
      [0, 1, -1, 0.5],
      { bits: 4, scheme: 'symmetric', granularity: 'tensor' },
      1,
      () => 0,
    );
    assert.equal(dequantizeValues(q, () => 0)[0], 0);
    assert.throws(
      () => quantizeValues([1], { bits: 9, scheme: 'affine', granularity: 'tensor' }, 1, () => 0),
      /bits must be an integer from 2 to 8, got 9/,
    );
    assert.throws(
      () =>
        quantizeValues(
          [Number.NaN],
          { bits: 4, scheme: 'affine', granularity: 'tensor' },
          1,
          () => 0,
        ),
      /non-finite weight/,
    );
  });
});
