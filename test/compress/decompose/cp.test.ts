import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cpAls } from '../../../src/compress/decompose/cp-als.js';
import {
  errorPreservingCorrection,
  stabilizedCp,
} from '../../../src/compress/decompose/cp-stabilize.js';
import {
  cpReconstruct,
  cpRelativeError,
  cpWeightNorm,
} from '../../../src/compress/decompose/cp-tensor.js';
import { zeros } from '../../../src/compress/linalg/matrix.js';
import type { Tensor64 } from '../../../src/compress/linalg/tensor.js';
import { makeRng, normal } from '../../../src/engine/random.js';

function randomCp(shape: number[], rank: number, seed: number) {
  const rng = makeRng(seed);
  return {
    factors: shape.map((s) => {
      const f = zeros(s, rank);
      for (let i = 0; i < f.data.length; i++) f.data[i] = normal(rng);
      return f;
    }),
  };
}

/** Gaussian noise tensor: fitting it at a high CP rank drives ALS into cancelling terms. */
function noiseTensor(shape: number[], seed: number): Tensor64 {
  const rng = makeRng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return { shape, data: Float64Array.from({ length: n }, () => normal(rng)) };
}

describe('CP-ALS', () => {
  it('recovers a planted low-rank 4-way tensor (relative error < 1e-6)', () => {
    const x = cpReconstruct(randomCp([3, 3, 6, 5], 3, 1));
    const r = cpAls(x, 3, { maxIters: 500, tol: 1e-14, init: 'random', seed: 2 });
    assert.ok(r.relativeError < 1e-6, `error ${r.relativeError}`);
  });

  it('rejects impossible ranks and NaN tensors', () => {
    const x = cpReconstruct(randomCp([2, 3, 4], 2, 1));
    assert.throws(() => cpAls(x, 0), /rank must be a positive integer/);
    x.data[3] = Number.NaN;
    assert.throws(() => cpAls(x, 2), /non-finite value at 3/);
  });
});

describe('stabilised CP (error-preserving correction)', () => {
  it('on a degenerate case keeps the ALS fit with a much smaller weight norm', () => {
    // A 3x3x8x8 conv-kernel-shaped tensor at rank 12: ALS ends with norm ~7x ||X||.
    const x = noiseTensor([3, 3, 8, 8], 1);
    const plain = cpAls(x, 12, { maxIters: 300, tol: 0, init: 'random', seed: 4 });
    const plainNorm = cpWeightNorm(plain.cp);
    // Degeneracy: the two rank-one terms are far larger than the tensor itself.
    const xNorm = Math.sqrt(x.data.reduce((s, v) => s + v * v, 0));
    assert.ok(plainNorm > 5 * xNorm, `plain ALS norm ${plainNorm} vs ||X|| ${xNorm}`);
    const corrected = errorPreservingCorrection(x, plain.cp, { sweeps: 300 });
    const err = cpRelativeError(x, corrected);
    assert.ok(err <= plain.relativeError * (1 + 1e-8), `${err} vs ${plain.relativeError}`);
    assert.ok(
      cpWeightNorm(corrected) < 0.5 * plainNorm,
      `${cpWeightNorm(corrected)} vs ${plainNorm}`,
    );
    const s = stabilizedCp(x, 12, { maxIters: 300, tol: 0, init: 'random', seed: 4, sweeps: 300 });
    assert.ok(s.relativeError <= plain.relativeError * (1 + 1e-8));
    assert.ok(s.weightNorm < 0.5 * plainNorm);
  });

  it('leaves an exact low-rank fit exact and does not raise the norm', () => {
    const x = cpReconstruct(randomCp([4, 5, 3], 2, 9));
    const plain = cpAls(x, 2, { maxIters: 300, tol: 1e-14, seed: 1 });
    const c = errorPreservingCorrection(x, plain.cp);
    assert.ok(cpRelativeError(x, c) <= Math.max(plain.relativeError * (1 + 1e-6), 1e-7));
    assert.ok(cpWeightNorm(c) <= cpWeightNorm(plain.cp) * (1 + 1e-9));
  });
});
