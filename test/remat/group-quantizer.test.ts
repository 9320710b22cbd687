import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeRng, normal } from '../../src/engine/random.js';
import { dequantizeGroups, packedBytes, quantizeGroups } from '../../src/remat/group-quantizer.js';

describe('per-group stochastic quantizer', () => {
  const rng = makeRng(4);
  const x = Float32Array.from({ length: 1000 }, () => normal(rng) * 3);

  for (const bits of [1, 2, 4, 8]) {
    it(`${bits}-bit codes stay within one level of the value and pack ${32 / bits} per word`, () => {
      const p = quantizeGroups(x, bits, makeRng(1), 256);
      const y = dequantizeGroups(p);
      for (let i = 0; i < x.length; i++) {
        const step = p.scales[Math.floor(i / 256)];
        assert.ok(Math.abs(y[i] - x[i]) <= step * (1 + 1e-5) + 1e-6, `value ${i}`);
      }
      assert.equal(p.codes.length, Math.ceil(1000 / (32 / bits)));
      assert.equal(packedBytes(p), p.codes.byteLength + 4 * 2 * 4);
    });
  }

  it('is unbiased: the mean over seeds converges to the value (2 bits)', () => {
    const n = 400;
    const sum = new Float64Array(x.length);
    for (let s = 0; s < n; s++) {
      const y = dequantizeGroups(quantizeGroups(x, 2, makeRng(100 + s)));
      for (let i = 0; i < x.length; i++) sum[i] += y[i];
    }
    // Each estimate has variance <= step^2/4; the mean over n seeds has std <= step/(2 sqrt n).
    const p = quantizeGroups(x, 2, makeRng(0));
    let worst = 0;
    for (let i = 0; i < x.length; i++) {
      const sd = p.scales[Math.floor(i / 256)] / (2 * Math.sqrt(n));
      worst = Math.max(worst, Math.abs(sum[i] / n - x[i]) / sd);
    }
    assert.ok(worst < 5, `largest error ${worst.toFixed(2)} standard deviations`);
    // Deterministic rounding would be biased by up to half a step; this is far below that.
    let meanAbs = 0;
    for (let i = 0; i < x.length; i++) meanAbs += Math.abs(sum[i] / n - x[i]);
    assert.ok(meanAbs / x.length < p.scales[0] / 20);
  });

  it('rejects impossible bit widths, group sizes and non-finite values', () => {
    assert.throws(() => quantizeGroups(x, 3, makeRng(1)), /bits must be one of 1, 2, 4, 8/);
    assert.throws(() => quantizeGroups(x, 4, makeRng(1), 0), /group size/);
    assert.throws(() => quantizeGroups([1, Number.NaN], 4, makeRng(1)), /non-finite/);
  });

  it('keeps a constant group exact', () => {
    const y = dequantizeGroups(quantizeGroups(new Float32Array(300).fill(1.5), 2, makeRng(1)));
    assert.ok(y.every((v) => v === 1.5));
  });
});
