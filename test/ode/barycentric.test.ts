import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  barycentricInterpolate,
  chebyshevGauss,
  chebyshevLobatto,
  genericWeights,
} from '../../src/ode/barycentric.js';

/** A fixed polynomial of the given degree. */
function poly(degree: number): (t: number) => number {
  const coeffs = Array.from({ length: degree + 1 }, (_, k) => Math.cos(1.3 * k + 0.4) * (k + 1));
  return (t) => coeffs.reduce((s, c, k) => s + c * t ** k, 0);
}

const probes = Array.from({ length: 37 }, (_, i) => 0.2 + (1.7 * (i + 0.37)) / 37);

function maxError(x: number[], w: number[], p: (t: number) => number): number {
  const y = x.map(p);
  return Math.max(...probes.map((t) => Math.abs(barycentricInterpolate(x, w, y, t) - p(t))));
}

describe('barycentric interpolation', () => {
  for (const [family, make] of [
    ['lobatto', chebyshevLobatto],
    ['gauss', chebyshevGauss],
  ] as const) {
    it(`${family} nodes with their matching weights are exact for every degree < n`, () => {
      for (const n of [2, 3, 5, 8, 12]) {
        const nodes = make(n, 0.2, 1.9);
        for (let d = 0; d < n; d++) {
          const err = maxError(nodes.x, nodes.w, poly(d));
          assert.ok(err < 1e-10, `${family} n=${n} degree ${d}: error ${err}`);
        }
        // Degree n is not reproduced: the test can fail.
        assert.ok(maxError(nodes.x, nodes.w, poly(n)) > 1e-6, `${family} n=${n} degree ${n}`);
      }
    });

    it(`${family} closed-form weights are proportional to 1 / prod(x_k - x_j)`, () => {
      const nodes = make(9, -1, 3);
      const g = genericWeights(nodes.x);
      const ratio = nodes.w[0] / g[0];
      nodes.w.forEach((w, k) => {
        assert.ok(Math.abs(w / g[k] / ratio - 1) < 1e-9, `node ${k}`);
      });
    });
  }

  it('Lobatto nodes paired with first-kind weights (the mismatch in a public IRDM code) are not exact', () => {
    const n = 10;
    const lobatto = chebyshevLobatto(n, 0.2, 1.9);
    const wrong = chebyshevGauss(n, 0.2, 1.9).w;
    const good = maxError(lobatto.x, lobatto.w, poly(n - 1));
    const bad = maxError(lobatto.x, wrong, poly(n - 1));
    assert.ok(good < 1e-10);
    assert.ok(bad > 1e3 * good && bad > 1e-4, `mismatched weights: error ${bad}`);
  });

  it('returns the sample at a node and rejects too few nodes', () => {
    const nodes = chebyshevLobatto(5, 0, 1);
    assert.equal(barycentricInterpolate(nodes.x, nodes.w, [1, 2, 3, 4, 5], nodes.x[2]), 3);
    assert.throws(() => chebyshevLobatto(1, 0, 1), /integer count >= 2/);
  });
});
