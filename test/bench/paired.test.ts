import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pairedSummary, tQuantile975, verdict } from '../../bench/lib/paired.js';

describe('bench/lib/paired: paired differences over seeds', () => {
  it('mean, sd, SE and the 95% t-interval match a hand computation', () => {
    // diffs 1, 2, 3, 4, 5: mean 3, sd sqrt(2.5), se sqrt(0.5), t_{0.975,4} = 2.776
    const s = pairedSummary([1, 2, 3, 4, 5]);
    assert.equal(s.n, 5);
    assert.equal(s.mean, 3);
    assert.ok(Math.abs(s.sd - Math.sqrt(2.5)) < 1e-12);
    assert.ok(Math.abs(s.se - Math.sqrt(0.5)) < 1e-12);
    assert.ok(Math.abs(s.ci95[0] - (3 - 2.776 * Math.sqrt(0.5))) < 1e-12);
    assert.ok(Math.abs(s.ci95[1] - (3 + 2.776 * Math.sqrt(0.5))) < 1e-12);
  });

  it('t quantiles: the table, and the large-df form close to 1.96', () => {
    assert.equal(tQuantile975(1), 12.706);
    assert.equal(tQuantile975(4), 2.776);
    assert.ok(Math.abs(tQuantile975(30) - 2.042) < 0.01);
    assert.throws(() => tQuantile975(0), /df must be >= 1/);
    assert.throws(() => pairedSummary([1]), /need 2 or more/);
  });

  it('verdict: decided below, decided above, or straddling the target', () => {
    assert.match(verdict(pairedSummary([0.1, 0.2, 0.3]), 1), /^met: the 95% interval lies below 1/);
    assert.match(
      verdict(pairedSummary([3, 3.1, 3.2]), 1),
      /^missed: the 95% interval lies above 1/,
    );
    assert.match(verdict(pairedSummary([0, 1, 2.5]), 1), /^missed by the mean, not decided/);
    assert.match(verdict(pairedSummary([-1, 0.5, 1.5]), 1), /^met by the mean, not decided/);
  });
});
