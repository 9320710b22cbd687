import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { svdFactors } from '../../../src/compress/decompose/dense-svd.js';
import {
  ttMatrixFromDense,
  ttMatrixToDense,
  ttReconstruct,
  ttSvd,
} from '../../../src/compress/decompose/tt-svd.js';
import { tucker2, tucker2Reconstruct } from '../../../src/compress/decompose/tucker2.js';
import { svd } from '../../../src/compress/linalg/svd.js';
import type { Tensor64 } from '../../../src/compress/linalg/tensor.js';
import { makeRng, normal } from '../../../src/engine/random.js';
import { relativeL2Error } from '../../helpers.js';
import { randomMatrix } from '../linalg/random-matrix.js';

function noise(shape: number[], seed: number): Tensor64 {
  const rng = makeRng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return { shape, data: Float64Array.from({ length: n }, () => normal(rng)) };
}

/** ||b - a|| / ||a||: the error of b against the reference a. */
const relErr = (a: Float64Array, b: Float64Array) => relativeL2Error(b, a);

describe('dense SVD factors', () => {
  it('error equals the Eckart-Young optimum sqrt(sum of discarded sigma^2) / ||W||', () => {
    const w = randomMatrix(48, 20, 3);
    const all = svd(w).s;
    const total = all.reduce((s, x) => s + x * x, 0);
    for (const rank of [1, 5, 19]) {
      const f = svdFactors(w, rank);
      let tail = 0;
      for (let i = rank; i < all.length; i++) tail += all[i] ** 2;
      assert.ok(Math.abs(f.relativeError ** 2 - tail / total) < 1e-12);
    }
  });
});

describe('Tucker-2', () => {
  it('is exact at full channel ranks and HOOI does not do worse than HOSVD', () => {
    const k = noise([3, 3, 6, 8], 1);
    const full = tucker2(k, 6, 8);
    assert.ok(full.relativeError < 1e-7);
    assert.ok(relErr(k.data, tucker2Reconstruct(full).data) < 1e-12);
    const hosvd = tucker2(k, 3, 4, { hooiIters: 0 });
    const hooi = tucker2(k, 3, 4, { hooiIters: 5 });
    assert.ok(hooi.relativeError <= hosvd.relativeError + 1e-12);
    assert.ok(Math.abs(relErr(k.data, tucker2Reconstruct(hooi).data) - hooi.relativeError) < 1e-9);
    assert.throws(() => tucker2(k, 7, 2), /r1 must be an integer in \[1, 6\], got 7/);
  });
});

describe('TT-SVD', () => {
  it('reconstructs exactly at full ranks and truncates within the TT-SVD bound', () => {
    const t = noise([4, 6, 5, 3], 2);
    assert.ok(relErr(t.data, ttReconstruct(ttSvd(t, [100, 100, 100])).data) < 1e-12);
    const truncated = ttReconstruct(ttSvd(t, [3, 5, 2]));
    const e = relErr(t.data, truncated.data);
    assert.ok(e > 0.05 && e < 1);
  });

  it('TT-matrix cores of a dense weight reassemble to the weight at full rank', () => {
    const w = noise([12, 10], 5).data;
    const cores = ttMatrixFromDense(w, [3, 4], [2, 5], 100);
    assert.deepEqual(
      cores.map((c) => c.shape),
      [
        [1, 3, 2, 6],
        [6, 4, 5, 1],
      ],
    );
    assert.ok(relErr(w, ttMatrixToDense(cores)) < 1e-12);
    assert.throws(() => ttMatrixFromDense(w, [3, 4], [10], 2), /as many input factors/);
  });
});
