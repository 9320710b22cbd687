import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeRng } from '../../src/engine/random.js';
import { mcnemarExactP, pairedAccuracy } from '../../src/report/paired-accuracy.js';

/**
 * One simulated test set of n paired 0/1 results from one uniform draw u per sample: both right
 * below `both`, only A right in [both, aRight), only B right in [aRight, bAlso), both wrong above.
 */
function pairedDraws(rng: () => number, n: number, both: number, aRight: number, bAlso: number) {
  const a = new Uint8Array(n);
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const u = rng();
    a[i] = u < aRight ? 1 : 0;
    b[i] = u < both || (u >= aRight && u < bAlso) ? 1 : 0;
  }
  return { a, b };
}

describe('paired accuracy comparison', () => {
  it('counts discordant pairs and gives the Wald interval of the paired difference', () => {
    // 10 samples: both right 5, only A 3, only B 1, both wrong 1.
    const a = [1, 1, 1, 1, 1, 1, 1, 1, 0, 0];
    const b = [1, 1, 1, 1, 1, 0, 0, 0, 1, 0];
    const r = pairedAccuracy(a, b);
    assert.equal(r.onlyA, 3);
    assert.equal(r.onlyB, 1);
    assert.equal(r.accuracyA, 0.8);
    assert.equal(r.accuracyB, 0.6);
    assert.ok(Math.abs(r.difference - 0.2) < 1e-12);
    // d_i: three +1, one -1, six 0: mean 0.2, population variance 0.4 - 0.04 = 0.36, se 0.6/sqrt(10).
    const se = 0.6 / Math.sqrt(10);
    assert.ok(Math.abs(r.ci95[0] - (0.2 - 1.959963984540054 * se)) < 1e-12);
    assert.ok(Math.abs(r.ci95[1] - (0.2 + 1.959963984540054 * se)) < 1e-12);
    // Exact McNemar: 2 * P(Bin(4, 1/2) <= 1) = 2 * 5/16.
    assert.ok(Math.abs(r.mcnemarP - 0.625) < 1e-12);
  });

  it('McNemar p-values match the binomial tail, symmetric, 1 for no discordant pairs', () => {
    assert.equal(mcnemarExactP(0, 0), 1);
    assert.ok(Math.abs(mcnemarExactP(0, 10) - 2 / 1024) < 1e-15);
    assert.equal(mcnemarExactP(3, 7), mcnemarExactP(7, 3));
    // 2 * P(Bin(10, 1/2) <= 3) = 2 * 176 / 1024.
    assert.ok(Math.abs(mcnemarExactP(3, 7) - 352 / 1024) < 1e-12);
    assert.equal(mcnemarExactP(5, 5), 1);
    // Large n stays finite and small for a real gap.
    const p = mcnemarExactP(400, 560);
    assert.ok(p > 0 && p < 1e-6, `p ${p}`);
  });

  it('the 95% interval covers the true difference in about 95% of simulated test sets', () => {
    // Correlated pairs: P(both right) .6, P(only A) .15, P(only B) .1, P(both wrong) .15: true
    // difference .05. 400 test sets of 500 samples each.
    const rng = makeRng(7);
    let covered = 0;
    const trials = 400;
    let rejected = 0;
    for (let t = 0; t < trials; t++) {
      const { a, b } = pairedDraws(rng, 500, 0.6, 0.75, 0.85);
      const r = pairedAccuracy(a, b);
      if (r.ci95[0] <= 0.05 && 0.05 <= r.ci95[1]) covered++;
      if (r.mcnemarP < 0.05) rejected++;
    }
    const rate = covered / trials;
    // Binomial sd of the rate at 0.95 over 400 trials is 0.011: allow 3 sd.
    assert.ok(rate > 0.917 && rate < 0.983, `coverage ${rate}`);
    // Power against a 5-point gap with 125 discordant pairs of 500 is well above one half.
    assert.ok(rejected / trials > 0.5, `power ${rejected / trials}`);
  });

  it('McNemar rejects at about the 5% rate (or less: exact test) when the models are equal', () => {
    const rng = makeRng(11);
    let rejected = 0;
    const trials = 400;
    for (let t = 0; t < trials; t++) {
      const { a, b } = pairedDraws(rng, 300, 0.6, 0.7, 0.8);
      if (pairedAccuracy(a, b).mcnemarP < 0.05) rejected++;
    }
    assert.ok(rejected / trials < 0.05 + 3 * 0.011, `size ${rejected / trials}`);
  });

  it('rejects mismatched, empty or non-binary input', () => {
    assert.throws(() => pairedAccuracy([1, 0], [1]), /differ in length \(2 vs 1\)/);
    assert.throws(() => pairedAccuracy([], []), /no samples/);
    assert.throws(() => pairedAccuracy([1, 2], [1, 0]), /must be 0 or 1, got 2 and 0 at 1/);
  });
});
