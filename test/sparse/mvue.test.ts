import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/config/index.js';
import { makeRng } from '../../src/engine/random.js';
import {
  approxInclusion,
  type GradMaskKind,
  groupOutcomes,
  maskAlongAxis,
  maskGroup,
  mvueInclusion,
  parseGradSparsity,
} from '../../src/sparse/mvue.js';

const close = (a: number, b: number, tol = 1e-9) =>
  assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} vs ${b}`);

/** E[out] and the total variance sum_i Var(out_i), by enumeration of the outcomes. */
function moments(x: number[], n: number, kind: GradMaskKind) {
  const os = groupOutcomes(x, n, kind);
  const mean = new Array<number>(x.length).fill(0);
  const second = new Array<number>(x.length).fill(0);
  let total = 0;
  for (const o of os) {
    assert.equal(o.keep.length, n, `outcome keeps ${o.keep} (want ${n})`);
    assert.equal(new Set(o.keep).size, n);
    assert.ok(o.prob > 0);
    total += o.prob;
    for (let i = 0; i < x.length; i++) {
      mean[i] += o.prob * o.out[i];
      second[i] += o.prob * o.out[i] ** 2;
    }
  }
  close(total, 1);
  const variance = second.reduce((s, v, i) => s + v - mean[i] ** 2, 0);
  return { os, mean, variance };
}

/** The lower bound V* = sum x_i^2 (1/pi_i - 1) over unbiased N:M masks (pi from water-filling). */
function lowerBound(x: number[], n: number): number {
  const pi = mvueInclusion(x, n);
  return x.reduce((s, v, i) => s + (v === 0 ? 0 : v * v * (1 / pi[i] - 1)), 0);
}

// 2:4 cases: no dominant value; one magnitude above the sum of the other three; exactly equal;
// zeros; a single nonzero; signs mixed.
const GROUPS4 = [
  [0.3, -1.2, 0.7, 0.5],
  [5, 0.4, -0.3, 0.2],
  [-0.1, 0.2, 3, -0.6],
  [1, 0.5, 0.25, 0.25],
  [0, 0.8, -0.4, 0],
  [0, 0, 2.5, 0],
  [1, 1, 1, 1],
];

describe('MVUE N:M gradient masks: exact enumeration', () => {
  it('1:2: keeps a with probability |a|/(|a|+|b|) at magnitude |a|+|b| with its own sign', () => {
    for (const [a, b] of [
      [0.3, -0.9],
      [-2, 0.5],
      [1, 1],
    ]) {
      const { os, mean, variance } = moments([a, b], 1, 'mvue');
      const s = Math.abs(a) + Math.abs(b);
      const keepA = os.find((o) => o.keep[0] === 0);
      assert.ok(keepA);
      close(keepA.prob, Math.abs(a) / s);
      close(keepA.out[0], Math.sign(a) * s);
      assert.equal(keepA.out[1], 0);
      close(mean[0], a);
      close(mean[1], b);
      close(variance, lowerBound([a, b], 1));
    }
  });

  it('2:4 exact: unbiased and at the variance lower bound in every case', () => {
    for (const x of GROUPS4) {
      const { os, mean, variance } = moments(x, 2, 'mvue');
      assert.ok(os.length <= 6);
      for (let i = 0; i < 4; i++) close(mean[i], x[i]);
      close(variance, lowerBound(x, 2));
    }
  });

  it('2:4 exact: a magnitude above the sum of the others is always kept, unscaled', () => {
    const x = [5, 0.4, -0.3, 0.2];
    const pi = mvueInclusion(x, 2);
    close(pi[0], 1);
    close(pi[1], 0.4 / 0.9);
    const { os } = moments(x, 2, 'mvue');
    for (const o of os) {
      assert.ok(o.keep.includes(0));
      close(o.out[0], 5);
    }
  });

  it('2:4 exact beats any other marginals: the bound is attained at pi = 2|x|/S, not elsewhere', () => {
    const x = [0.3, -1.2, 0.7, 0.5];
    const best = lowerBound(x, 2);
    // approx 2:4 (other marginals) has strictly larger variance, and is unbiased too.
    const { mean, variance } = moments(x, 2, 'approx');
    for (let i = 0; i < 4; i++) close(mean[i], x[i]);
    assert.ok(variance > best * (1 + 1e-6), `approx ${variance} vs bound ${best}`);
  });

  it('2:4 approx: unbiased (Horvitz-Thompson) in every case; equals MVUE for 1:2', () => {
    for (const x of GROUPS4) {
      const { mean, variance } = moments(x, 2, 'approx');
      for (let i = 0; i < 4; i++) close(mean[i], x[i]);
      assert.ok(variance >= lowerBound(x, 2) - 1e-9);
      const pi = approxInclusion(x, 2);
      close(
        pi.reduce((s, p) => s + p, 0),
        2,
      );
    }
    const m12 = moments([0.3, -0.9], 1, 'approx');
    close(m12.variance, lowerBound([0.3, -0.9], 1));
  });

  it('magnitude 2:4 is biased (the baseline): E[out] differs from x', () => {
    const x = [0.3, -1.2, 0.7, 0.5];
    const { mean } = moments(x, 2, 'magnitude');
    assert.deepEqual(mean, [0, -1.2, 0.7, 0]);
  });

  it('other N:M (1:4, 3:4, 2:8) are unbiased at the lower bound too', () => {
    const x8 = [0.3, -1.2, 0.7, 0.5, 4, -0.05, 0, 0.9];
    for (const [x, n] of [
      [x8.slice(0, 4), 1],
      [x8.slice(0, 4), 3],
      [x8, 2],
    ] as const) {
      const { mean, variance } = moments([...x], n, 'mvue');
      for (let i = 0; i < x.length; i++) close(mean[i], x[i]);
      close(variance, lowerBound([...x], n));
    }
  });
});

describe('MVUE N:M gradient masks: sampling', () => {
  it('maskGroup draws each 2:4 outcome at its enumerated frequency', () => {
    const rng = makeRng(7);
    for (const kind of ['mvue', 'approx'] as const) {
      const x = [0.3, -1.2, 0.7, 0.5];
      const os = groupOutcomes(x, 2, kind);
      const counts = new Map<string, number>();
      const draws = 20000;
      const g = new Float64Array(4);
      for (let d = 0; d < draws; d++) {
        g.set(x);
        maskGroup(g, 2, kind, rng);
        const key = [0, 1, 2, 3].filter((i) => g[i] !== 0).join(',');
        counts.set(key, (counts.get(key) ?? 0) + 1);
        const o = os.find((q) => q.keep.join(',') === key);
        assert.ok(o, `drew ${key}, not an enumerated outcome`);
        for (let i = 0; i < 4; i++) close(g[i], o.out[i], 1e-12);
      }
      for (const o of os) {
        const f = (counts.get(o.keep.join(',')) ?? 0) / draws;
        const se = Math.sqrt((o.prob * (1 - o.prob)) / draws);
        assert.ok(Math.abs(f - o.prob) < 5 * se + 1e-9, `${kind} ${o.keep}: ${f} vs ${o.prob}`);
      }
    }
  });

  it('maskAlongAxis groups along the axis; a trailing partial group is zero-padded, unbiased', () => {
    // shape [6, 2], axis 0: columns hold groups rows 0-3 and the partial group rows 4-5.
    const values = [0.3, 1, -1.2, 2, 0.7, -3, 0.5, 4, 0.9, -0.2, -0.1, 0.6];
    const spec = { n: 2, m: 4, kind: 'mvue' as const };
    const rng = makeRng(3);
    const once = maskAlongAxis(values, [6, 2], 0, spec, rng);
    for (let c = 0; c < 2; c++) {
      const full = [0, 1, 2, 3].filter((r) => once[r * 2 + c] !== 0).length;
      assert.equal(full, 2);
      // Partial group of 2 with n = 2: both kept, unchanged.
      assert.equal(once[4 * 2 + c], Math.fround(values[4 * 2 + c]));
      assert.equal(once[5 * 2 + c], Math.fround(values[5 * 2 + c]));
    }
    const partial = moments([0.9, -0.1, 0, 0], 1, 'mvue');
    close(partial.mean[0], 0.9);
    close(partial.mean[1], -0.1);
  });
});

describe('gradSparsity config', () => {
  const bad: [unknown, RegExp][] = [
    [{ n: 3, m: 2, kind: 'mvue' }, /gradSparsity: n: n \(3\) must not exceed m \(2\)/],
    [{ n: 2, m: 2, kind: 'mvue' }, /would change nothing/],
    [{ n: 2, m: 4, kind: 'topk' }, /gradSparsity: kind must be/],
    [{ n: 0, m: 4, kind: 'mvue' }, /gradSparsity: n must be/],
    [{ n: 2, m: 16, kind: 'approx' }, /gradSparsity: m: kind 'approx' supports m up to 8/],
    [{ n: 2, m: 4, kind: 'mvue', extra: 1 }, /extra/],
  ];
  for (const [v, re] of bad)
    it(`refuses ${JSON.stringify(v)}`, () => {
      assert.throws(
        () => parseGradSparsity(v),
        (e: unknown) => e instanceof ConfigError && re.test(e.message),
      );
    });
  it('accepts 1:2 and 2:4 of every kind', () => {
    for (const kind of ['mvue', 'approx', 'magnitude'] as const)
      assert.deepEqual(parseGradSparsity({ n: 2, m: 4, kind }), { n: 2, m: 4, kind });
  });
});
