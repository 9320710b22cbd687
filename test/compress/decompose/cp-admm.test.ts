import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cpAdmmQuantized, quantizeCp } from '../../../src/compress/decompose/cp-admm.js';
import { stabilizedCp } from '../../../src/compress/decompose/cp-stabilize.js';
import { cpReconstruct } from '../../../src/compress/decompose/cp-tensor.js';
import { fitGrid, gridMax, quantizeValues } from '../../../src/compress/decompose/quant-grid.js';
import { zeros } from '../../../src/compress/linalg/matrix.js';
import { makeRng, normal } from '../../../src/engine/random.js';

/** A rank-6 kernel-shaped tensor plus noise. */
function noisyLowRank(seed: number) {
  const rng = makeRng(seed);
  const factors = [3, 3, 8, 12].map((s) => {
    const f = zeros(s, 6);
    for (let i = 0; i < f.data.length; i++) f.data[i] = normal(rng);
    return f;
  });
  const x = cpReconstruct({ factors });
  for (let i = 0; i < x.data.length; i++) x.data[i] += 0.3 * normal(rng);
  return x;
}

describe('quantisation grid', () => {
  it('projects onto 2^(b-1)-1 symmetric levels and fits an MSE-better scale than max-abs', () => {
    const rng = makeRng(1);
    const v = Float64Array.from({ length: 500 }, () => normal(rng));
    const g = fitGrid(v, 3);
    const q = quantizeValues(v, g);
    const levels = new Set(Array.from(q, (x) => Math.round(x / g.scale)));
    assert.ok([...levels].every((k) => Math.abs(k) <= gridMax(3)));
    const maxAbs = Math.max(...Array.from(v, Math.abs));
    const naive = quantizeValues(v, { bits: 3, scale: maxAbs / gridMax(3) });
    const err = (a: Float64Array) => a.reduce((s, x, i) => s + (x - v[i]) ** 2, 0);
    assert.ok(err(q) <= err(naive));
    assert.throws(() => fitGrid(v, 9), /bits must be an integer from 2 to 8, got 9/);
  });
});

describe('ADMM quantised CP', () => {
  const x = noisyLowRank(3);
  const start = stabilizedCp(x, 6, { maxIters: 200 }).cp;

  for (const bits of [2, 3, 4]) {
    it(`${bits} bits: factors lie exactly on the grid and beat quantise-after-CP`, () => {
      const admm = cpAdmmQuantized(x, 6, { bits, init: start, outerIters: 40 });
      admm.cp.factors.forEach((f, k) => {
        const { scale } = admm.grids[k];
        for (let i = 0; i < f.data.length; i++) {
          const code = admm.codes[k][i];
          assert.ok(Number.isInteger(code) && Math.abs(code) <= gridMax(bits));
          assert.equal(f.data[i], code * scale);
        }
      });
      const baseline = quantizeCp(x, start, bits);
      assert.ok(
        admm.relativeError < 0.98 * baseline.relativeError,
        `admm ${admm.relativeError} vs quantise-after-CP ${baseline.relativeError}`,
      );
    });
  }

  it('rejects impossible bit widths', () => {
    assert.throws(() => cpAdmmQuantized(x, 6, { bits: 1, init: start }), /bits must be an integer/);
  });
});
