import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { khatriRao } from '../../../src/compress/linalg/khatri-rao.js';
import { matmulTB } from '../../../src/compress/linalg/matrix.js';
import { fold, permute, tensorFrom, unfold } from '../../../src/compress/linalg/tensor.js';
import { maxAbs, randomMatrix } from './random-matrix.js';

describe('linalg: tensors', () => {
  const shape = [2, 3, 4];
  const t = tensorFrom(
    shape,
    Array.from({ length: 24 }, (_, i) => i),
  );

  it('unfold puts mode-n fibres in rows, remaining indices last-fastest; fold inverts it', () => {
    const m1 = unfold(t, 1);
    assert.equal(m1.rows, 3);
    assert.equal(m1.cols, 8);
    // Element (i0, i1, i2) = 12 i0 + 4 i1 + i2 goes to row i1, column i0 * 4 + i2.
    assert.equal(m1.data[2 * 8 + 1 * 4 + 3], 12 + 8 + 3);
    for (let mode = 0; mode < 3; mode++) {
      assert.deepEqual(Array.from(fold(unfold(t, mode), mode, shape).data), Array.from(t.data));
    }
    assert.throws(() => unfold(t, 3), /mode 3 is out of range/);
  });

  it('khatriRao matches the CP unfolding identity X_(n) = A_n KR(others)^T', () => {
    const a = [randomMatrix(2, 3, 1), randomMatrix(3, 3, 2), randomMatrix(4, 3, 3)];
    const x = new Float64Array(24);
    for (let i = 0; i < 2; i++)
      for (let j = 0; j < 3; j++)
        for (let k = 0; k < 4; k++)
          for (let r = 0; r < 3; r++)
            x[i * 12 + j * 4 + k] +=
              a[0].data[i * 3 + r] * a[1].data[j * 3 + r] * a[2].data[k * 3 + r];
    const tensor = tensorFrom([2, 3, 4], x);
    for (let n = 0; n < 3; n++) {
      const others = a.filter((_, i) => i !== n);
      assert.ok(maxAbs(unfold(tensor, n), matmulTB(a[n], khatriRao(others))) < 1e-12);
    }
  });

  it('permute reorders axes', () => {
    const p = permute(t, [2, 0, 1]);
    assert.deepEqual(p.shape, [4, 2, 3]);
    // p[i2, i0, i1] = t[i0, i1, i2]
    assert.equal(p.data[3 * 6 + 1 * 3 + 2], 12 + 8 + 3);
    assert.throws(() => permute(t, [0, 0, 1]), /not a permutation/);
  });
});
