import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  allocateGroups,
  dequantizeSamplesInto,
  quantizeSamplesInto,
} from '../../src/activation/codec/quantize.js';
import {
  dequantizeSamplesIntoWasm,
  quantizeSamplesIntoWasm,
} from '../../src/activation/codec/quantize-wasm.js';
import { makeRng } from '../../src/engine/random.js';
import { wasmKernels } from '../../src/wasm/module.js';

function values(n: number, seed: number): Float32Array {
  const r = makeRng(seed);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = (r() - 0.3) * 4 * (i % 7 === 0 ? 3 : 1);
  // A constant group (scale 0) in the first sample.
  for (let i = 256; i < Math.min(512, n); i++) v[i] = 1.5;
  return v;
}

describe('wasm activation codec', () => {
  for (const bits of [1, 2, 4, 8] as const) {
    it(`${bits}-bit codes, mins, scales and restored values equal the JS quantizer's`, () => {
      // 700 values per sample: groups of 256, 256, 188 (a partial tail word at 8 and 4 bits too).
      const samples = 5;
      const perSample = 701;
      const x = values(samples * perSample, 7 + bits);
      const js = allocateGroups(samples, perSample, bits);
      const wa = allocateGroups(samples, perSample, bits);
      // Two chunks (2 + 3 samples) with one stream each path, as the chunked forward does.
      const rj = makeRng(11);
      const rw = makeRng(11);
      quantizeSamplesInto(x.subarray(0, 2 * perSample), js, 0, rj);
      quantizeSamplesInto(x.subarray(2 * perSample), js, 2, rj);
      quantizeSamplesIntoWasm(x.subarray(0, 2 * perSample), wa, 0, rw);
      quantizeSamplesIntoWasm(x.subarray(2 * perSample), wa, 2, rw);
      assert.deepEqual(wa.words, js.words);
      assert.deepEqual(wa.mins, js.mins);
      assert.deepEqual(wa.scales, js.scales);
      assert.ok(
        js.words.some((w) => w !== 0),
        'codes are not all zero',
      );
      const oj = new Float32Array(3 * perSample);
      const ow = new Float32Array(3 * perSample);
      dequantizeSamplesInto(js, 1, 3, oj);
      dequantizeSamplesIntoWasm(js, 1, 3, ow);
      assert.deepEqual(ow, oj);
      // The SIMD restore (float32, two roundings) is within a few ulps of the exact one.
      dequantizeSamplesIntoWasm(js, 1, 3, ow, 'simd');
      for (let i = 0; i < oj.length; i++)
        assert.ok(Math.abs(ow[i] - oj[i]) <= 4e-7 * 12, `restore ${i}: ${ow[i]} vs ${oj[i]}`);
    });
  }

  for (const bits of [1, 2, 4, 8] as const) {
    it(`${bits}-bit SIMD kernel: same mins and scales, unbiased, the variance of stochastic rounding`, () => {
      const samples = 2;
      const perSample = 701;
      const n = samples * perSample;
      const x = values(n, 3 + bits);
      const trials = 200;
      const js = allocateGroups(samples, perSample, bits);
      const si = allocateGroups(samples, perSample, bits);
      const oj = new Float32Array(n);
      const os = new Float32Array(n);
      const sum = new Float64Array(n);
      const sq = new Float64Array(n);
      const sumJs = new Float64Array(n);
      for (let t = 0; t < trials; t++) {
        quantizeSamplesInto(x, js, 0, makeRng(100 + t));
        quantizeSamplesIntoWasm(x, si, 0, makeRng(100 + t), 'simd');
        if (t === 0) {
          assert.deepEqual(si.mins, js.mins);
          assert.deepEqual(si.scales, js.scales);
        }
        dequantizeSamplesInto(js, 0, samples, oj);
        dequantizeSamplesIntoWasm(si, 0, samples, os, 'simd');
        for (let i = 0; i < n; i++) {
          const e = os[i] - x[i];
          sum[i] += e;
          sq[i] += e * e;
          sumJs[i] += oj[i] - x[i];
        }
      }
      // Each restore is lo + floor(t) * s or lo + ceil(t) * s around x; expected variance
      // f (1 - f) s^2 with f the fractional part of t = (x - lo) / s.
      let bias = 0;
      let biasJs = 0;
      let expectVar = 0;
      let gotVar = 0;
      const gps = Math.ceil(perSample / 256);
      for (let i = 0; i < n; i++) {
        const gi = Math.floor(i / perSample) * gps + Math.floor((i % perSample) / 256);
        const s = js.scales[gi];
        const lo = js.mins[gi];
        const tt = s === 0 ? 0 : (x[i] - lo) / s;
        const f = tt - Math.floor(tt);
        const v = f * (1 - f) * s * s;
        expectVar += v;
        const m = sum[i] / trials;
        gotVar += sq[i] / trials - m * m;
        bias += sum[i];
        biasJs += sumJs[i];
      }
      // The total bias over n * trials draws: its standard deviation is sqrt(trials * expectVar).
      const sd = Math.sqrt(trials * expectVar);
      assert.ok(Math.abs(bias) < 5 * sd, `SIMD bias ${bias} vs sd ${sd}`);
      assert.ok(Math.abs(biasJs) < 5 * sd, `JS bias ${biasJs} vs sd ${sd}`);
      const rel = gotVar / expectVar;
      assert.ok(
        rel > 0.9 && rel < 1.1,
        `SIMD variance ${gotVar} vs stochastic rounding's ${expectVar}`,
      );
    });
  }

  it('rejects NaN, bad sample ranges, and leaves no heap blocks behind', () => {
    const heap = wasmKernels().heap;
    const before = heap.liveBlocks;
    const q = allocateGroups(2, 10, 2);
    const x = new Float32Array(20).fill(1);
    x[13] = Number.NaN;
    assert.throws(() => quantizeSamplesIntoWasm(x, q, 0, makeRng(1)), /NaN or infinite/);
    assert.throws(() => quantizeSamplesIntoWasm(x, q, 0, makeRng(1), 'simd'), /NaN or infinite/);
    x[13] = Number.POSITIVE_INFINITY;
    assert.throws(() => quantizeSamplesIntoWasm(x, q, 0, makeRng(1), 'simd'), /NaN or infinite/);
    assert.throws(
      () => quantizeSamplesIntoWasm(new Float32Array(15), q, 0, makeRng(1)),
      /whole samples/,
    );
    assert.throws(() => dequantizeSamplesIntoWasm(q, 1, 2, new Float32Array(20)), /samples 1\.\.3/);
    assert.equal(heap.liveBlocks, before);
  });
});
