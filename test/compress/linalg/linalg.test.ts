import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cholesky, choleskySolve } from '../../../src/compress/linalg/cholesky.js';
import { leastSquares } from '../../../src/compress/linalg/least-squares.js';
import {
  copy,
  frobeniusNorm,
  fromArray,
  gram,
  identity,
  matmul,
  matmulTA,
  matmulTB,
  scaleColumns,
  subtract,
  transpose,
} from '../../../src/compress/linalg/matrix.js';
import { qr } from '../../../src/compress/linalg/qr.js';
import { singularValues, svd } from '../../../src/compress/linalg/svd.js';
import {
  symmetricEigen,
  symmetricEigenvalues,
} from '../../../src/compress/linalg/symmetric-eigen.js';
import { matrixWithSpectrum, maxAbs, orthogonalityError, randomMatrix } from './random-matrix.js';

describe('linalg: matrix products', () => {
  it('matmulTA and matmulTB equal the products with explicit transposes', () => {
    const a = randomMatrix(5, 3, 1);
    const b = randomMatrix(5, 4, 2);
    assert.ok(maxAbs(matmulTA(a, b), matmul(transpose(a), b)) < 1e-12);
    const c = randomMatrix(4, 3, 3);
    assert.ok(maxAbs(matmulTB(a, c), matmul(a, transpose(c))) < 1e-12);
    assert.throws(() => matmul(a, c), /inner sizes differ/);
  });
});

describe('linalg: QR', () => {
  for (const [m, n] of [
    [7, 4],
    [4, 7],
    [6, 6],
  ]) {
    it(`${m}x${n}: Q orthonormal, R upper triangular, QR = A`, () => {
      const a = randomMatrix(m, n, m * 10 + n);
      const { q, r } = qr(a);
      assert.ok(orthogonalityError(q) < 1e-13);
      for (let i = 0; i < r.rows; i++)
        for (let j = 0; j < i; j++) assert.equal(r.data[i * n + j], 0);
      assert.ok(maxAbs(matmul(q, r), a) < 1e-12);
    });
  }

  it('keeps Q orthonormal for a rank-deficient matrix', () => {
    const a = randomMatrix(6, 3, 5);
    for (let i = 0; i < 6; i++) a.data[i * 3 + 2] = a.data[i * 3] * 2;
    const { q, r } = qr(a);
    assert.ok(orthogonalityError(q) < 1e-13);
    assert.ok(maxAbs(matmul(q, r), a) < 1e-12);
  });
});

describe('linalg: Cholesky and least squares', () => {
  it('factors an SPD matrix and solves several right-hand sides', () => {
    const b = randomMatrix(6, 5, 8);
    const spd = gram(b);
    for (let i = 0; i < 5; i++) spd.data[i * 5 + i] += 0.1;
    const l = cholesky(spd);
    assert.ok(maxAbs(matmulTB(l, l), spd) < 1e-12);
    const rhs = randomMatrix(5, 3, 9);
    const x = choleskySolve(l, rhs);
    assert.ok(maxAbs(matmul(spd, x), rhs) < 1e-10);
  });

  it('rejects a matrix that is not positive definite', () => {
    const a = fromArray(2, 2, [1, 2, 2, 1]);
    assert.throws(() => cholesky(a), /not positive definite \(pivot 1/);
  });

  it('least squares: residual is orthogonal to the column space, exact for consistent systems', () => {
    const a = randomMatrix(10, 4, 11);
    const xTrue = randomMatrix(4, 2, 12);
    const x = leastSquares(a, matmul(a, xTrue));
    assert.ok(maxAbs(x, xTrue) < 1e-12);
    const b = randomMatrix(10, 2, 13);
    const res = subtract(matmul(a, leastSquares(a, b)), b);
    assert.ok(frobeniusNorm(matmulTA(a, res)) < 1e-12);
    const dep = randomMatrix(5, 2, 1);
    for (let i = 0; i < 5; i++) dep.data[i * 2 + 1] = dep.data[i * 2];
    assert.throws(() => leastSquares(dep, randomMatrix(5, 1, 2)), /rank deficient/);
  });
});

describe('linalg: symmetric eigen', () => {
  it('recovers a planted spectrum with orthonormal vectors', () => {
    const n = 9;
    const q = qr(randomMatrix(n, n, 21)).q;
    const values = [5, 4, 3, 2.5, 1, 0, -0.5, -2, -7];
    const a = matmul(scaleColumns(copy(q), values), transpose(q));
    const e = symmetricEigen(a);
    values.forEach((v, i) => {
      assert.ok(Math.abs(e.values[i] - v) < 1e-12);
    });
    assert.ok(orthogonalityError(e.vectors) < 1e-12);
    const only = symmetricEigenvalues(a);
    values.forEach((v, i) => {
      assert.ok(Math.abs(only[i] - v) < 1e-12);
    });
    const rebuilt = matmul(scaleColumns(identity(n), e.values), identity(n));
    const av = matmul(a, e.vectors);
    const vl = matmul(e.vectors, rebuilt);
    assert.ok(maxAbs(av, vl) < 1e-11);
  });
});

describe('linalg: SVD', () => {
  for (const method of ['jacobi', 'gram'] as const) {
    for (const [m, n] of [
      [12, 5],
      [5, 12],
    ]) {
      it(`${method} ${m}x${n}: known singular values, orthonormal factors, exact reconstruction`, () => {
        const s = [9, 4, 2, 1, 0.25];
        const a = matrixWithSpectrum(m, n, s, m + n);
        const d = svd(a, { method });
        s.forEach((v, i) => {
          assert.ok(Math.abs(d.s[i] - v) < 1e-12, `sigma ${i}: ${d.s[i]} vs ${v}`);
        });
        assert.ok(orthogonalityError(d.u) < 1e-11);
        assert.ok(orthogonalityError(d.v) < 1e-12);
        const rebuilt = matmul(scaleColumns(d.u, d.s), transpose(d.v));
        assert.ok(maxAbs(rebuilt, a) < 1e-12);
      });
    }
  }

  it('rank-deficient input still gives orthonormal U (zero singular values)', () => {
    const a = matrixWithSpectrum(8, 6, [3, 2, 1], 4);
    const d = svd(a);
    assert.ok(d.s[3] < 1e-12 && d.s[5] < 1e-12);
    assert.ok(orthogonalityError(d.u) < 1e-10);
  });

  it('Eckart-Young: truncated error^2 equals the sum of the discarded sigma^2', () => {
    const a = randomMatrix(40, 30, 77);
    const all = svd(a).s;
    for (const rank of [1, 7, 29]) {
      const t = svd(a, { rank });
      const err = frobeniusNorm(subtract(a, matmul(scaleColumns(t.u, t.s), transpose(t.v)))) ** 2;
      let tail = 0;
      for (let i = rank; i < all.length; i++) tail += all[i] ** 2;
      assert.ok(
        Math.abs(err - tail) < 1e-9 * frobeniusNorm(a) ** 2,
        `rank ${rank}: ${err} vs ${tail}`,
      );
    }
  });

  it('jacobi and gram paths agree, and singularValues matches both', () => {
    const a = randomMatrix(30, 24, 5);
    const j = svd(a, { method: 'jacobi' }).s;
    const g = svd(a, { method: 'gram' }).s;
    const v = singularValues(a);
    for (let i = 0; i < j.length; i++) {
      assert.ok(Math.abs(j[i] - g[i]) < 1e-10);
      assert.ok(Math.abs(j[i] - v[i]) < 1e-10);
    }
  });

  it('rejects impossible ranks and NaN input', () => {
    const a = randomMatrix(4, 3, 1);
    assert.throws(() => svd(a, { rank: 4 }), /rank must be an integer in \[0, 3\]/);
    a.data[2] = Number.NaN;
    assert.throws(() => svd(a), /svd input contains a non-finite value/);
  });

  it('singularValues above the Jacobi size (Gram path) recovers a planted spectrum', () => {
    const s = Array.from({ length: 210 }, (_, i) => 10 * 0.97 ** i);
    const a = matrixWithSpectrum(230, 210, s, 3);
    const v = singularValues(a);
    // Gram path: absolute accuracy ~ eps * sigma_max^2 / sigma.
    s.forEach((x, i) => {
      assert.ok(Math.abs(v[i] - x) < 1e-9 * (10 / x) * 10, `sigma ${i}: ${v[i]} vs ${x}`);
    });
  });
});
