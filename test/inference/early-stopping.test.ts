import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  earlyStoppingEstimate,
  earlyStoppingOverLatency,
  minQueriesForEstimate,
  percentileOf,
} from '../../src/inference/early-stopping.js';

/**
 * Direct binomial computation in exact rational arithmetic: with p = num/den, the largest t
 * such that sum_{k<=t} C(n,k) (den-num)^k num^(n-k) <= (1-c) den^n, c = cNum/cDen.
 */
function direct(n: number, num: number, den: number, cNum: number, cDen: number): number | null {
  const a = BigInt(den - num);
  const b = BigInt(num);
  const exactBound = BigInt(cDen - cNum) * BigInt(den) ** BigInt(n);
  let choose = 1n;
  let sum = 0n;
  let best: number | null = null;
  for (let k = 0; k <= n; k++) {
    if (k > 0) choose = (choose * BigInt(n - k + 1)) / BigInt(k);
    sum += choose * a ** BigInt(k) * b ** BigInt(n - k);
    if (sum * BigInt(cDen) <= exactBound) best = k;
    else break;
  }
  return best;
}

describe('early-stopping estimate', () => {
  it('matches a direct exact binomial computation for several (percentile, query count) pairs', () => {
    const cases: [number, number, number][] = [
      [90, 100, 43],
      [90, 100, 44],
      [90, 100, 64],
      [90, 100, 1024],
      [99, 100, 459],
      [99, 100, 662],
      [95, 100, 90],
      [95, 100, 700],
      [999, 1000, 5000],
    ];
    for (const [num, den, n] of cases) {
      const want = direct(n, num, den, 99, 100);
      assert.equal(earlyStoppingOverLatency(n, num / den, 0.99), want, `p=${num / den} n=${n}`);
    }
    // Spot values: below the minimum there is no estimate.
    assert.equal(earlyStoppingOverLatency(43, 0.9), null);
    assert.equal(earlyStoppingOverLatency(44, 0.9), 0);
  });

  it('gives LoadGen minimum counts and an upper estimate on sorted latencies', () => {
    assert.equal(minQueriesForEstimate(0.9), 44);
    assert.equal(minQueriesForEstimate(0.99), 459);
    const lat = Array.from({ length: 1024 }, (_, i) => 1024 - i);
    const t = earlyStoppingOverLatency(1024, 0.9) as number;
    assert.equal(earlyStoppingEstimate(lat, 0.9), 1024 - t);
    assert.ok((earlyStoppingEstimate(lat, 0.9) as number) >= percentileOf(lat, 0.9));
    assert.equal(percentileOf(lat, 0.9), 922);
    assert.equal(earlyStoppingEstimate([1, 2, 3], 0.9), null);
    assert.throws(() => earlyStoppingOverLatency(10, 1.5), /percentile must be in \(0, 1\)/);
  });
});
