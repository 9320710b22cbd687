import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { makeRng, takeDraws } from '../../src/engine/random.js';
import { setMaskPath } from '../../src/engine/settings.js';
import { pruneGradient } from '../../src/sparse/grad-prune.js';
import {
  type GradMaskKind,
  type GradSparsity,
  maskAlongAxis,
  maskAlongAxisReference,
} from '../../src/sparse/mvue.js';

/**
 * Values with zeros (a share `zeros` of them, as behind a ReLU; a tenth of those -0), ties, a
 * dominant entry every few groups and tiny values.
 */
function values(count: number, seed: number, zeros = 0.13): Float32Array {
  const rng = makeRng(seed);
  return Float32Array.from({ length: count }, (_, i) => {
    let r = rng();
    if (r < zeros) return r < zeros / 10 ? -0 : 0;
    r = 0.13 + ((r - zeros) / (1 - zeros)) * 0.87;
    if (r < 0.18) return 0.5; // ties
    if (r < 0.22) return (rng() - 0.5) * 1e6; // dominant
    if (r < 0.25) return (rng() - 0.5) * 1e-30;
    return (rng() - 0.5) * (1 + (i % 3));
  });
}

const sameBits = (a: Float32Array, b: Float32Array, what: string) => {
  assert.equal(a.length, b.length, what);
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < a.length; i++)
    if (ua[i] !== ub[i]) assert.fail(`${what}: entry ${i}: ${a[i]} vs reference ${b[i]}`);
};

const SHAPES: number[][] = [
  [7],
  [2, 3],
  [5, 3],
  [9, 4, 3],
  [3, 5, 2, 7],
  [13, 1],
  [1, 6],
  [0, 3],
  [3, 0, 2],
];

describe('maskAlongAxis fast path against the per-group reference', () => {
  it('the same bits and the same random stream, every N:M up to 8, odd shapes, every axis', () => {
    let cases = 0;
    for (const kind of ['mvue', 'magnitude'] as GradMaskKind[])
      for (let m = 2; m <= 8; m++)
        for (let n = 1; n < m; n++)
          for (const [si, shape] of SHAPES.entries())
            for (let axis = 0; axis < shape.length; axis++) {
              const spec: GradSparsity = { n, m, kind };
              const count = shape.reduce((p, d) => p * d, 1);
              // Half the cases as behind a ReLU: most groups hold zeros, many nothing else.
              const v = values(count, 1000 * m + 10 * n + si, axis % 2 === 0 ? 0.13 : 0.7);
              const rf = makeRng(m * 100 + n + axis);
              const rr = makeRng(m * 100 + n + axis);
              const what = `${kind} ${n}:${m} shape [${shape}] axis ${axis}`;
              sameBits(
                maskAlongAxis(v, shape, axis, spec, rf),
                maskAlongAxisReference(v, shape, axis, spec, rr),
                what,
              );
              assert.equal(rf(), rr(), `${what}: the generators end in different states`);
              cases++;
            }
    assert.ok(cases > 500, `${cases} cases`);
  });

  it('a generator other than makeRng (no counter to draw from inline) gives the same masks', () => {
    const v = values(40 * 7, 6, 0.5);
    for (const spec of [
      { n: 1, m: 2, kind: 'mvue' },
      { n: 2, m: 4, kind: 'mvue' },
      { n: 3, m: 8, kind: 'mvue' },
    ] as GradSparsity[]) {
      const a = makeRng(11);
      const b = makeRng(11);
      sameBits(
        maskAlongAxis(v, [40, 7], 0, spec, () => a()),
        maskAlongAxisReference(v, [40, 7], 0, spec, b),
        `${spec.n}:${spec.m} through a wrapper`,
      );
      assert.equal(a(), b());
    }
  });

  it('NaN and infinite values follow the reference too', () => {
    const v = Float32Array.from([Number.NaN, 1, Infinity, 2, -Infinity, 0, 3, Number.NaN, 0, 0]);
    for (const [n, m] of [
      [1, 2],
      [2, 4],
      [1, 3],
    ])
      for (const kind of ['mvue', 'magnitude'] as GradMaskKind[]) {
        const spec: GradSparsity = { n, m, kind };
        const a = maskAlongAxis(v, [10], 0, spec, makeRng(5));
        const b = maskAlongAxisReference(v, [10], 0, spec, makeRng(5));
        sameBits(a, b, `${kind} ${n}:${m}`);
      }
  });

  it('a change to the fast path is caught: a biased 1:2 (the larger value always kept) differs', () => {
    const v = values(64 * 6, 3);
    const spec: GradSparsity = { n: 1, m: 2, kind: 'mvue' };
    const fast = maskAlongAxis(v, [64, 6], 0, spec, makeRng(1));
    const magnitude = maskAlongAxis(v, [64, 6], 0, { ...spec, kind: 'magnitude' }, makeRng(1));
    assert.notDeepEqual(Array.from(fast), Array.from(magnitude));
  });

  it('pruneGradient on a tensor: the reference masks, no tensors left behind', () => {
    const shape = [10, 3, 3, 2];
    const v = values(180, 9);
    const dy = tf.tensor(v, shape);
    for (const spec of [
      { n: 1, m: 2, kind: 'mvue' },
      { n: 2, m: 4, kind: 'mvue' },
      { n: 2, m: 4, kind: 'magnitude' },
      { n: 1, m: 3, kind: 'mvue' },
    ] as GradSparsity[]) {
      const before = tf.memory().numTensors;
      const stats = { zeros: 0, total: 0 };
      const out = pruneGradient(dy, spec, makeRng(2), stats);
      const ref = maskAlongAxisReference(v, shape, 0, spec, makeRng(2));
      sameBits(out.dataSync() as Float32Array, ref, `${spec.kind} ${spec.n}:${spec.m}`);
      assert.equal(stats.total, 180);
      assert.equal(
        stats.zeros,
        ref.reduce((z, x) => z + (x === 0 ? 1 : 0), 0),
      );
      out.dispose();
      assert.equal(tf.memory().numTensors, before);
    }
    dy.dispose();
  });
});

describe('the draws taken inline from a makeRng counter', () => {
  it('takeDraws: the numbers of as many calls, the generator left where they leave it', () => {
    for (const count of [0, 1, 7, 1000]) {
      const a = makeRng(42);
      const b = makeRng(42);
      const got = takeDraws(a, count);
      for (let i = 0; i < count; i++) assert.equal(got[i], b(), `draw ${i} of ${count}`);
      assert.equal(a(), b());
    }
    // Any other generator is called.
    let calls = 0;
    const other = () => (calls++ % 4) / 4;
    assert.deepEqual(Array.from(takeDraws(other, 5)), [0, 0.25, 0.5, 0.75, 0]);
    assert.throws(() => takeDraws(makeRng(1), -1), /count must be a non-negative integer/);
  });

  it("setMaskPath('reference') runs the per-group reference; bad paths are errors", () => {
    const v = values(64 * 9, 4, 0.5);
    const spec: GradSparsity = { n: 2, m: 4, kind: 'mvue' };
    const previous = setMaskPath('reference');
    try {
      sameBits(
        maskAlongAxis(v, [64, 9], 0, spec, makeRng(8)),
        maskAlongAxisReference(v, [64, 9], 0, spec, makeRng(8)),
        'reference path',
      );
    } finally {
      setMaskPath(previous);
    }
    assert.throws(() => setMaskPath('quick' as 'fast'), /path must be 'fast' or 'reference'/);
  });
});
