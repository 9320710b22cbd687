import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { combinationTable } from '../../../src/compress/sparsity/combinations.js';
import {
  isNMMask,
  keptMagnitude,
  magnitudeNMMask,
  unstructuredToNM,
} from '../../../src/compress/sparsity/nm-mask.js';
import { makeRng } from '../../../src/engine/random.js';
import { seededNormals } from '../../random-values.js';

function weights(n: number, seed: number): Float32Array {
  return Float32Array.from(seededNormals(n, seed));
}

describe('N:M masks', () => {
  for (const [n, m] of [
    [1, 2],
    [2, 4],
    [4, 8],
  ]) {
    for (const shape of [
      [16, 6],
      [3, 3, 8, 5],
    ]) {
      it(`${n}:${m} magnitude mask on [${shape}] is valid and keeps the largest per group`, () => {
        const size = shape.reduce((a, b) => a * b, 1);
        const w = weights(size, n * 10 + m);
        const mask = magnitudeNMMask(w, shape, n, m);
        assert.ok(isNMMask(mask, shape, n, m));
        const out = shape[shape.length - 1];
        const inC = shape[shape.length - 2];
        // groups run along input channels: check one group explicitly
        const idx = Array.from({ length: m }, (_, j) => j * out + 1);
        const kept = idx.filter((i) => mask[i]).map((i) => Math.abs(w[i]));
        const dropped = idx.filter((i) => !mask[i]).map((i) => Math.abs(w[i]));
        assert.equal(kept.length, n);
        assert.ok(Math.min(...kept) >= Math.max(...dropped));
        assert.equal(
          mask.reduce((s, v) => s + v, 0),
          (size / m) * n,
        );
        assert.ok(inC % m === 0);
      });
    }
  }
  it('rejects masks with a wrong count and kernels whose channels do not fit', () => {
    const mask = magnitudeNMMask(weights(8, 1), [4, 2], 2, 4);
    mask[mask.indexOf(0)] = 1;
    assert.equal(isNMMask(mask, [4, 2], 2, 4), false);
    assert.throws(
      () => magnitudeNMMask(weights(6, 1), [3, 2], 2, 4),
      /3 input channels are not a multiple of M=4/,
    );
    assert.throws(
      () => magnitudeNMMask(weights(8, 1), [4, 2], 0, 4),
      /N must be an integer from 1 to M-1/,
    );
  });
  it('converts an unstructured mask to N:M, keeping its choices where it can', () => {
    const shape = [32, 4];
    const w = weights(128, 5);
    const unstructured = Uint8Array.from(w, (v) => (Math.abs(v) > 1 ? 1 : 0));
    const nm = unstructuredToNM(w, unstructured, shape, 2, 4);
    assert.ok(isNMMask(nm, shape, 2, 4));
    const magnitude = magnitudeNMMask(w, shape, 2, 4);
    // it is the magnitude N:M mask (the unstructured one kept the largest values)
    assert.deepEqual(Array.from(nm), Array.from(magnitude));
    // with a random unstructured mask it follows the mask, not the magnitudes
    const rng = makeRng(9);
    const random = Uint8Array.from(w, () => (rng() < 0.5 ? 1 : 0));
    const follow = unstructuredToNM(w, random, shape, 2, 4);
    assert.ok(isNMMask(follow, shape, 2, 4));
    // in every group it keeps min(N, |group ∩ unstructured|) of the unstructured mask's picks
    for (let o = 0; o < 4; o++) {
      for (let g = 0; g < 8; g++) {
        const idx = Array.from({ length: 4 }, (_, j) => (g * 4 + j) * 4 + o);
        const wanted = idx.filter((i) => random[i]).length;
        const got = idx.filter((i) => random[i] && follow[i]).length;
        assert.equal(got, Math.min(2, wanted), `group ${g}, output ${o}`);
      }
    }
    assert.ok(keptMagnitude(w, magnitude) >= keptMagnitude(w, follow));
  });
  it('stores a group as its subset rank: C(4,2)=6 needs 3 bits, C(8,4)=70 needs 7', () => {
    assert.equal(combinationTable(2, 4).subsets.length, 6);
    assert.equal(combinationTable(2, 4).bits, 3);
    assert.equal(combinationTable(4, 8).bits, 7);
    assert.equal(combinationTable(1, 2).bits, 1);
  });
});
