import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeRng, normal } from '../../src/engine/random.js';
import { maskAlongAxis } from '../../src/sparse/mvue.js';
import { compressNM, denseMatMulJs, nmMatMul } from '../../src/sparse/nm-kernel.js';

describe('N:M-compressed matmul', () => {
  for (const [n, m] of [
    [2, 4],
    [1, 2],
  ])
    it(`${n}:${m}: equals the dense product on masked inputs`, () => {
      const rng = makeRng(n * 10 + m);
      const rows = 6;
      const k = 16;
      const cols = 5;
      const raw = Float32Array.from({ length: rows * k }, () => normal(rng));
      // mask each row N:M along k (axis 1)
      const a = maskAlongAxis(raw, [rows, k], 1, { n, m, kind: 'mvue' }, rng);
      const b = Float32Array.from({ length: k * cols }, () => normal(rng));
      const got = nmMatMul(compressNM(a, rows, k, n, m), b, cols);
      const want = denseMatMulJs(a, rows, k, b, cols);
      // independent reference: the plain triple sum
      for (let r = 0; r < rows; r++)
        for (let c = 0; c < cols; c++) {
          let s = 0;
          for (let kk = 0; kk < k; kk++) s += a[r * k + kk] * b[kk * cols + c];
          assert.ok(Math.abs(got[r * cols + c] - s) < 1e-4);
          assert.ok(Math.abs(want[r * cols + c] - s) < 1e-4);
        }
    });

  it('refuses a matrix that is not N:M sparse, and k not a multiple of m', () => {
    assert.throws(() => compressNM([1, 2, 3, 0], 1, 4, 2, 4), /group 0 holds more than 2 nonzeros/);
    assert.throws(() => compressNM([1, 0, 0], 1, 3, 2, 4), /multiple of m/);
  });
});
