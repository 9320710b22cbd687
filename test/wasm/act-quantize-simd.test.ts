// actQuantizeSimd (src/wasm/assembly/act-codec.ts), the 'wasm-simd' quantizer, against a plain JS
// reference of its arithmetic (float32 steps with Math.fround, the counter-based hash dither):
// the same codes, mins and scales on every width, partial tail words, constant groups and values
// on the clamps; and its NaN refusal. (Its unbiasedness: test/wasm/act-codec.test.ts.)
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeRng } from '../../src/engine/random.js';
import { wasmKernels } from '../../src/wasm/module.js';
import { randomSeeds, runQuantize } from './act-quantize-run.js';

const GOLDEN = 0x9e3779b9;

function hash(seed: number, i: number): number {
  let h = (seed + Math.imul(i, GOLDEN)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d) >>> 0;
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** The kernel's results in JS: per group of 256, min/max, float32 scale, hashed dither, clamp. */
function reference(x: Float32Array, samples: number, bits: number, seeds: Int32Array) {
  const f = Math.fround;
  const perSample = x.length / samples;
  const gps = Math.ceil(perSample / 256);
  const levels = (1 << bits) - 1;
  const per = 32 / bits;
  const words = new Int32Array(samples * gps * (256 / per));
  const mins = new Float32Array(samples * gps);
  const scales = new Float32Array(samples * gps);
  for (let s = 0; s < samples; s++)
    for (let g = 0; g < gps; g++) {
      const start = s * perSample + g * 256;
      const n = Math.min(256, perSample - g * 256);
      const v = x.subarray(start, start + n);
      // The JS quantizer's min and max (groupRange): the first of equal values wins.
      let lo = Number.POSITIVE_INFINITY;
      let hi = Number.NEGATIVE_INFINITY;
      for (const a of v) {
        if (a < lo) lo = a;
        if (a > hi) hi = a;
      }
      const gi = s * gps + g;
      const scale = f((hi - lo) / levels);
      mins[gi] = lo;
      scales[gi] = scale;
      if (scale === 0) continue;
      const inv = f(1 / scale);
      for (let i = 0; i < n; i++) {
        const u = f((hash(seeds[gi] >>> 0, i) >>> 8) * 2 ** -24);
        const t = f(f(f(v[i] - lo) * inv) + u);
        const c = Math.min(levels, Math.max(0, Math.floor(t)));
        words[gi * (256 / per) + Math.floor(i / per)] |= c << ((i % per) * bits);
      }
    }
  const asInt = (a: Float32Array) => new Int32Array(a.buffer);
  return { bad: 0, words, mins: asInt(mins), scales: asInt(scales) };
}

describe('actQuantizeSimd', () => {
  const e = wasmKernels().exports;
  for (const bits of [1, 2, 4, 8]) {
    it(`${bits} bits: the codes, mins and scales of its JS reference`, () => {
      const samples = 4;
      const perSample = 701; // groups of 256, 256, 189: partial tail words
      const r = makeRng(bits);
      const x = new Float32Array(samples * perSample);
      for (let i = 0; i < x.length; i++) x[i] = Math.fround((r() - 0.4) * 3);
      for (let i = 256; i < 512; i++) x[i] = -2.25; // a constant group
      // Values exactly on the group's min and max (the clamps).
      for (let i = 512; i < 700; i += 50) x[i] = 5;
      const seeds = randomSeeds(r, samples * 3);
      const got = runQuantize(e.actQuantizeSimd, x, samples, bits, seeds);
      assert.deepEqual(got, reference(x, samples, bits, seeds));
      assert.ok(got.words.some((w) => w !== 0));
    });
  }
  it('refuses NaN and infinities; takes finite values whose float32 sum overflows', () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      const x = new Float32Array(300).fill(1);
      x[17] = bad;
      assert.equal(runQuantize(e.actQuantizeSimd, x, 1, 2, new Int32Array(2)).bad, 1);
    }
    const x = new Float32Array(300).fill(Math.fround(3e38));
    x[5] = 0;
    const seeds = new Int32Array([3, 4]);
    assert.deepEqual(runQuantize(e.actQuantizeSimd, x, 1, 2, seeds), reference(x, 1, 2, seeds));
  });
});
