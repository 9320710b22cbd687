import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  exactTransposableBlock,
  greedyTransposableBlock,
  isTransposableBlock,
  isTransposableNMMask,
  transposableNMMask,
} from '../../../src/compress/sparsity/transposable.js';
import { seededNormals } from '../../random-values.js';

function weights(n: number, seed: number): Float64Array {
  return Float64Array.from(seededNormals(n, seed));
}

/** Every m x m 0/1 matrix with n ones per row and column. */
function allBlocks(n: number, m: number): Uint8Array[] {
  const rows: number[] = [];
  for (let r = 0; r < 1 << m; r++) {
    let c = 0;
    for (let b = 0; b < m; b++) c += (r >> b) & 1;
    if (c === n) rows.push(r);
  }
  const out: Uint8Array[] = [];
  const pick = (a: number, chosen: number[]) => {
    if (a === m) {
      const mask = new Uint8Array(m * m);
      chosen.forEach((r, i) => {
        for (let b = 0; b < m; b++) mask[i * m + b] = (r >> b) & 1;
      });
      if (isTransposableBlock(mask, n, m)) out.push(mask);
      return;
    }
    for (const r of rows) pick(a + 1, [...chosen, r]);
  };
  pick(0, []);
  return out;
}

const kept = (w: ArrayLike<number>, mask: ArrayLike<number>) =>
  Array.from(mask).reduce((s, v, i) => s + (v ? Math.abs(w[i]) : 0), 0);

describe('transposable N:M masks', () => {
  for (const [n, m] of [
    [1, 4],
    [2, 4],
    [3, 4],
    [2, 5],
  ]) {
    it(`exact ${n}:${m} block equals the brute-force optimum`, () => {
      const all = allBlocks(n, m);
      for (let s = 0; s < 20; s++) {
        const w = weights(m * m, 100 * n + s);
        const mask = exactTransposableBlock(w, n, m);
        assert.ok(isTransposableBlock(mask, n, m));
        const best = Math.max(...all.map((b) => kept(w, b)));
        assert.ok(Math.abs(kept(w, mask) - best) < 1e-9, `seed ${s}`);
      }
    });
  }
  it('the reference greedy returns invalid 2:4 masks on some blocks; the validated one never does', () => {
    let invalid = 0;
    for (let s = 0; s < 300; s++) {
      const w = weights(16, s);
      if (!isTransposableBlock(greedyTransposableBlock(w, 2, 4), 2, 4)) invalid++;
    }
    assert.ok(invalid > 0, 'the raw greedy fails somewhere');
    const shape = [3, 3, 8, 8];
    const w = weights(3 * 3 * 8 * 8, 7);
    for (const solver of ['greedy', 'exact'] as const) {
      const r = transposableNMMask(w, shape, 2, 4, solver);
      assert.ok(isTransposableNMMask(r.mask, shape, 2, 4), solver);
      assert.equal(r.blocks, 9 * 4);
    }
    const g = transposableNMMask(weights(64 * 64, 3), [64, 64], 2, 4, 'greedy');
    assert.ok(isTransposableNMMask(g.mask, [64, 64], 2, 4));
    assert.ok(g.greedyRepairs > 0 && g.greedyRepairs < g.blocks, `${g.greedyRepairs}/${g.blocks}`);
  });
  it('4:8 exact masks are valid in both directions on a dense kernel', () => {
    const r = transposableNMMask(weights(16 * 16, 11), [16, 16], 4, 8);
    assert.ok(isTransposableNMMask(r.mask, [16, 16], 4, 8));
  });
  it('checks both directions and names shape problems', () => {
    // N:M along inputs but not along outputs
    const shape = [4, 4];
    const rowsOnly = Uint8Array.from([1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert.equal(isTransposableNMMask(rowsOnly, shape, 2, 4), false);
    assert.throws(() => transposableNMMask(weights(8 * 6, 1), [8, 6], 2, 4), /multiples of 4/);
  });
});
