import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import {
  formatRounder,
  lowBitMatMul,
  mulberry32,
  roundToFormat,
  roundToFormatReference,
} from '../../src/lowprec/index.js';
import { useBackend } from '../helpers.js';

const FP32 = { mantissa: 23, exponent: 8 };

describe('low-bit accumulator simulator', () => {
  it('the fast rounder equals the reference on random values, ties, subnormals, overflow', () => {
    const rnd = mulberry32(11);
    for (const mantissa of [1, 2, 3, 6, 7, 10, 23])
      for (const exponent of [2, 3, 4, 5, 8]) {
        const f = { mantissa, exponent };
        const round = formatRounder(f);
        const bias = 2 ** (exponent - 1) - 1;
        const xs = [0, -0, Number.NaN, Number.POSITIVE_INFINITY, -1e300, 1e-300, 5e-324];
        for (let i = 0; i < 3000; i++) {
          const e = Math.floor(rnd() * (2 * bias + mantissa + 6)) - bias - mantissa - 2;
          const q = 2 ** (Math.max(e, 1 - bias) - mantissa);
          const v = (rnd() + 1) * 2 ** e;
          // Exact ties between two grid values as well as random values.
          const x = i % 3 === 0 ? (Math.floor(v / q) + 0.5) * q : v;
          xs.push(rnd() < 0.5 ? -x : x);
        }
        for (const x of xs) {
          const a = round(x);
          const b = roundToFormatReference(x, f);
          assert.ok(Object.is(a, b) || a === b, `M${mantissa}E${exponent} x=${x}: ${a} vs ${b}`);
        }
      }
  });

  it('rounds exactly like float32 at M=23/E=8 (incl. ties, subnormals)', () => {
    const rnd = mulberry32(3);
    const xs = [1 + 2 ** -24, 1 + 3 * 2 ** -24, 2 ** -140 * 1.3, -7.77e-39, 3.4e38, 0.1, -1e-3];
    for (let i = 0; i < 2000; i++) xs.push((rnd() - 0.5) * 10 ** (rnd() * 60 - 30));
    for (const x of xs) assert.equal(roundToFormat(x, FP32), Math.fround(x), `x=${x}`);
    // Half precision (M=10, E=5) spot values.
    const half = { mantissa: 10, exponent: 5 };
    assert.equal(roundToFormat(2049, half), 2048);
    assert.equal(roundToFormat(2051, half), 2052);
    assert.equal(roundToFormat(1e6, half), 65504);
  });

  it('matmul equals a float32 sequential sum at M=23/E=8 and tf.matMul closely', async () => {
    await useBackend('cpu');
    const rnd = mulberry32(5);
    const [rows, k, cols] = [3, 50, 4];
    const x = Float32Array.from({ length: rows * k }, () => rnd() * 2 - 1);
    const w = Float32Array.from({ length: k * cols }, () => rnd() * 2 - 1);
    const out = lowBitMatMul(x, w, rows, k, cols, FP32);
    for (let r = 0; r < rows; r++)
      for (let c = 0; c < cols; c++) {
        let s = 0;
        for (let i = 0; i < k; i++)
          s = Math.fround(s + Math.fround(x[r * k + i] * w[i * cols + c]));
        assert.equal(out[r * cols + c], s);
      }
    const ref = tf.tidy(() =>
      tf.matMul(tf.tensor2d(x, [rows, k]), tf.tensor2d(w, [k, cols])).dataSync(),
    );
    for (let i = 0; i < out.length; i++) assert.ok(Math.abs(out[i] - ref[i]) < 1e-5);
  });

  it('shows swamping at small M, which chunked accumulation reduces', () => {
    const k = 4096;
    const rnd = mulberry32(9);
    const x = Float32Array.from({ length: k }, () => 0.5 + rnd());
    const ones = new Float32Array(k).fill(1);
    let exact = 0;
    for (const v of x) exact += v;
    const f = { mantissa: 6, exponent: 8 };
    const seq = lowBitMatMul(x, ones, 1, k, 1, f)[0];
    const chunked = lowBitMatMul(x, ones, 1, k, 1, f, 64)[0];
    const eSeq = Math.abs(seq - exact) / exact;
    const eChunk = Math.abs(chunked - exact) / exact;
    assert.ok(eSeq > 0.5, `sequential sum swamps: rel. error ${eSeq}`);
    assert.ok(eChunk < 0.05 && eChunk < eSeq / 10, `chunked rel. error ${eChunk} vs ${eSeq}`);
  });

  it('outer format: low-bit sums within chunks, chunk sums in float32 (the reference order)', () => {
    const k = 4096;
    const rnd = mulberry32(5);
    const x = Float32Array.from({ length: k }, () => 0.5 + rnd());
    const ones = new Float32Array(k).fill(1);
    const f = { mantissa: 2, exponent: 5 };
    for (const chunk of [16, 64, 100]) {
      // reference: each chunk summed alone in the low format, then float32 sums of the chunks
      let ref = 0;
      for (let s = 0; s < k; s += chunk) {
        const part = x.subarray(s, Math.min(k, s + chunk));
        const p = lowBitMatMul(part, ones.subarray(0, part.length), 1, part.length, 1, f)[0];
        ref = s === 0 ? p : Math.fround(ref + p);
      }
      assert.equal(lowBitMatMul(x, ones, 1, k, 1, f, chunk, FP32)[0], ref, `chunk ${chunk}`);
    }
    // M2E5 saturates at 57344 and swamps; a float32 outer sum removes the cross-chunk error
    let exact = 0;
    for (const v of x) exact += v;
    const err = (outer: typeof FP32 | null) =>
      Math.abs(lowBitMatMul(x, ones, 1, k, 1, f, 16, outer)[0] - exact) / exact;
    assert.ok(err(FP32) < err(null) / 2, `outer fp32 ${err(FP32)} vs low-bit ${err(null)}`);
    assert.throws(() => lowBitMatMul(x, ones, 1, k, 1, f, 0, FP32), /outer needs chunk > 0/);
  });

  it('rejects impossible formats and chunks, naming the field', () => {
    const a = new Float32Array(4);
    assert.throws(() => lowBitMatMul(a, a, 2, 2, 2, { mantissa: 0, exponent: 8 }), /mantissa/);
    assert.throws(() => lowBitMatMul(a, a, 2, 2, 2, { mantissa: 4, exponent: 9 }), /exponent/);
    assert.throws(() => lowBitMatMul(a, a, 2, 2, 2, FP32, 1.5), /chunk/);
    assert.throws(() => lowBitMatMul(a, a, 3, 2, 2, FP32), /x has 4 values/);
  });
});
