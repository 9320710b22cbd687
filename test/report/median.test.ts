import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { median } from '../../src/report/median.js';

describe('median', () => {
  it('takes the middle value, or the mean of the middle two, and leaves its input as it is', () => {
    const xs = [5, 1, 3];
    assert.equal(median(xs), 3);
    assert.deepEqual(xs, [5, 1, 3]);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.equal(median([7]), 7);
  });
});
