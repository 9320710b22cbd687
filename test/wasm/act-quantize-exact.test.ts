// actQuantizeExact / actRestoreExact (src/wasm/assembly/act-codec.ts): the float64 SIMD twins of
// the scalar actQuantize / actRestore (kernels.ts) and of the JS quantizer (quantize.ts). Codes,
// mins, scales and restored values compared bit for bit (mins and scales as int32 views, so
// +0 and -0 differ) on random data, ragged group tails, constant and all-zero groups, signed zeros
// as a group's extremes, values on the clamps, and the NaN / Infinity refusal.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  allocateGroups,
  dequantizeSamplesInto,
  type QuantizedGroups,
  quantizeSamplesInto,
} from '../../src/activation/codec/quantize.js';
import type { CodecExports } from '../../src/activation/codec/quantize-wasm.js';
import { makeRng } from '../../src/engine/random.js';
import { type KernelExports, wasmKernels } from '../../src/wasm/module.js';
import { type QuantizeRun, randomSeeds, runQuantize } from './act-quantize-run.js';

type Restore = KernelExports['actRestore'];
const e = wasmKernels().exports as unknown as KernelExports & CodecExports;

function restore(
  kernel: Restore,
  q: QuantizeRun,
  perSample: number,
  bits: number,
  first: number,
  count: number,
) {
  const { heap } = wasmKernels();
  const wp = heap.put(q.words);
  const mp = heap.put(q.mins);
  const cp = heap.put(q.scales);
  const op = heap.alloc(count * perSample * 4);
  try {
    kernel(wp, mp, cp, perSample, bits, first, count, op);
    return new Int32Array(heap.bytes().buffer, op, count * perSample).slice();
  } finally {
    for (const p of [wp, mp, cp, op]) heap.release(p);
  }
}

/** The JS quantizer on the same seeds: an rng that hands them out as the wasm wrapper draws them. */
function quantizeJs(x: Float32Array, samples: number, bits: 1 | 2 | 4 | 8, seeds: Int32Array) {
  const q = allocateGroups(samples, x.length / samples, bits);
  let k = 0;
  quantizeSamplesInto(x, q, 0, () => (seeds[k++] >>> 0) / 4294967296);
  return q;
}

/**
 * The SIMD kernel's result on `x`, checked to be the scalar kernel's bit for bit (and the scalar
 * kernel to take every value).
 */
function exactAsScalar(
  x: Float32Array,
  samples: number,
  bits: 1 | 2 | 4 | 8,
  seeds: Int32Array,
): QuantizeRun {
  const scalar = runQuantize(e.actQuantize, x, samples, bits, seeds);
  const simd = runQuantize(e.actQuantizeExact, x, samples, bits, seeds);
  assert.equal(scalar.bad, 0);
  assert.deepEqual(simd, scalar);
  return simd;
}

const bitsOf = (a: Float32Array) => new Int32Array(a.buffer, a.byteOffset, a.length);

/** Samples of `perSample` values with the hard cases laid into the first groups. */
function hardValues(samples: number, perSample: number, seed: number): Float32Array {
  const r = makeRng(seed);
  const x = new Float32Array(samples * perSample);
  for (let i = 0; i < x.length; i++) x[i] = Math.fround((r() - 0.4) * 3 * (i % 7 === 0 ? 5 : 1));
  const put = (s: number, g: number, fill: (j: number) => number) => {
    const start = s * perSample + g * 256;
    const end = Math.min(start + 256, (s + 1) * perSample);
    for (let i = start; i < end; i++) x[i] = fill(i - start);
  };
  if (perSample > 256 * 6) {
    put(0, 1, () => -2.25); // constant: scale 0
    put(0, 2, (j) => (j % 3 === 0 ? -0 : 0)); // all zeros, -0 first: scale 0, min -0
    put(0, 3, (j) => (j === 5 ? 0 : j === 10 ? -0 : r() * 2 + 0.1)); // min +0 (the first zero; lanes 1, 2)
    put(0, 4, (j) => (j === 2 ? -0 : j === 7 ? 0 : -(r() * 2 + 0.1))); // max -0 (the first zero)
    put(0, 5, (j) => (j % 50 === 0 ? 5 : j % 50 === 1 ? -5 : r())); // many values on the clamps
    put(0, 6, (j) => 1e-30 * (j % 5)); // tiny scale
  }
  if (samples > 1) put(1, 0, (j) => (j % 2 === 0 ? 3e37 : -3e37)); // huge range
  return x;
}

describe('actQuantizeExact and actRestoreExact', () => {
  const shapes = [
    { samples: 2, perSample: 256 * 7 + 189 }, // the hard groups and a ragged tail
    { samples: 3, perSample: 701 },
    { samples: 4, perSample: 3 }, // a group smaller than one vector
    { samples: 2, perSample: 257 }, // a one-value tail group
    { samples: 1, perSample: 1 },
  ];
  for (const bits of [1, 2, 4, 8] as const)
    for (const { samples, perSample } of shapes) {
      it(`${bits} bits, ${samples} x ${perSample}: the scalar kernel's and the JS quantizer's results, bit for bit`, () => {
        const x = hardValues(samples, perSample, bits * 31 + perSample);
        const groups = samples * Math.ceil(perSample / 256);
        const seeds = randomSeeds(makeRng(perSample + bits), groups);
        const simd = exactAsScalar(x, samples, bits, seeds);
        const js: QuantizedGroups = quantizeJs(x, samples, bits, seeds);
        assert.deepEqual(simd.mins, bitsOf(js.mins));
        assert.deepEqual(simd.scales, bitsOf(js.scales));
        assert.deepEqual(simd.words, js.words);
        if (perSample > 3)
          assert.ok(
            js.words.some((w) => w !== 0),
            'codes are not all zero',
          );
        // Restore every sample range the backward asks for: all, and the last ones alone.
        for (const [first, count] of [
          [0, samples],
          [samples - 1, 1],
        ]) {
          const a = restore(e.actRestore, simd, perSample, bits, first, count);
          const b = restore(e.actRestoreExact, simd, perSample, bits, first, count);
          assert.deepEqual(b, a);
          const o = new Float32Array(count * perSample);
          dequantizeSamplesInto(js, first, count, o);
          assert.deepEqual(b, bitsOf(o));
        }
      });
    }

  for (const bits of [1, 2, 4, 8] as const)
    it(`${bits} bits: values whose t = (x - min) / scale + u lands next to an integer (the float32 screen's hard cases)`, () => {
      // Each value is placed so that t is within an ulp or so of an integer: the code then hangs
      // on the last bit of the float64 arithmetic, which a float32 shortcut would get wrong.
      const samples = 8;
      const perSample = 256 * 3 + 77;
      const levels = (1 << bits) - 1;
      const groups = samples * 4;
      const r = makeRng(900 + bits);
      const seeds = randomSeeds(r, groups);
      const x = new Float32Array(samples * perSample);
      let near = 0;
      for (let s = 0; s < samples; s++)
        for (let g = 0; g < 4; g++) {
          const start = s * perSample + g * 256;
          const end = Math.min(start + 256, (s + 1) * perSample);
          const lo = Math.fround((r() - 0.5) * 10 ** (g - 1));
          const hi = Math.fround(lo + levels * Math.fround(0.37 * 10 ** (g - 2)));
          const scale = Math.fround((hi - lo) / levels);
          const inv = 1 / scale;
          let state = seeds[s * 4 + g];
          for (let i = start; i < end; i++) {
            state = (Math.imul(state, 1664525) + 1013904223) | 0;
            const u = (state >>> 8) * 2 ** -24;
            const k = Math.floor(r() * levels);
            let v = Math.fround(lo + (k + 1 - u) * scale);
            v = Math.min(hi, Math.max(lo, v));
            x[i] = v;
            const t = (v - lo) * inv + u;
            if (Math.abs(t - Math.round(t)) < 1e-5) near++;
          }
          x[start] = lo;
          x[start + 1] = hi;
        }
      assert.ok(near > x.length / 2, `${near} of ${x.length} values next to an integer`);
      const simd = exactAsScalar(x, samples, bits, seeds);
      const js = quantizeJs(x, samples, bits, seeds);
      assert.deepEqual(simd.words, js.words);
    });

  for (const bits of [1, 2, 4, 8] as const)
    it(`${bits} bits: groups of every offset and span (1e-6 .. 1e6, offsets up to 1e4 spans): the scalar kernel's codes`, () => {
      // Random data in groups whose min and span vary over many decades: the float32 screen's
      // error bound (relative to the span) must hold wherever it is used, and the blocks it sends
      // to float64 (about 1 in 100 at 8 bits) must come back right.
      const samples = 16;
      const perSample = 256 * 8;
      const r = makeRng(4242 + bits);
      const x = new Float32Array(samples * perSample);
      for (let g = 0; g < x.length / 256; g++) {
        const span = 10 ** (r() * 12 - 6);
        const lo = (r() - 0.5) * span * 10 ** (r() * 4);
        for (let j = 0; j < 256; j++) x[g * 256 + j] = Math.fround(lo + r() * span);
      }
      exactAsScalar(x, samples, bits, randomSeeds(r, x.length / 256));
    });

  it('the signed-zero cases are really in the data: -0 and +0 mins and maxima', () => {
    const x = hardValues(2, 256 * 7 + 189, 5);
    const q = runQuantize(e.actQuantizeExact, x, 2, 2, new Int32Array(16));
    const negZero = bitsOf(new Float32Array([-0]))[0];
    assert.equal(q.mins[2], negZero, 'all-zero group: min -0');
    assert.equal(q.scales[2], 0);
    assert.equal(q.mins[3], 0, 'min: +0 before -0 (float min would give -0)');
    assert.equal(q.mins[4] < 0, true, 'a negative group');
    assert.equal(q.scales[1], 0, 'constant group');
  });

  it('takes finite values whose float32 sum overflows (its NaN test is an exact one then)', () => {
    // 3e38 * 256 overflows float32 (the kernel's fast test sums in float32); the JS sum is float64.
    const x = new Float32Array(256 * 2 + 40);
    for (let i = 0; i < x.length; i++) x[i] = Math.fround(i % 3 === 0 ? 3e38 : 2.5e38 + i * 1e35);
    x[300] = -3e38;
    const seeds = new Int32Array([11, -7, 123456789]);
    const simd = exactAsScalar(x, 1, 2, seeds);
    assert.deepEqual(simd.words, quantizeJs(x, 1, 2, seeds).words);
  });

  for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])
    for (const at of [17, 298]) {
      it(`refuses ${bad} in a group's ${at < 256 ? 'vector part' : 'tail'} like the scalar kernel`, () => {
        const x = new Float32Array(299).fill(1);
        x[at] = bad;
        const seeds = new Int32Array(2);
        assert.equal(runQuantize(e.actQuantizeExact, x, 1, 2, seeds).bad, 1);
        assert.equal(runQuantize(e.actQuantize, x, 1, 2, seeds).bad, 1);
      });
    }
});
