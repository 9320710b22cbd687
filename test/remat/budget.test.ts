import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatBytes, parseBytes } from '../../src/remat/budget.js';

describe('memory sizes', () => {
  it('reads decimal and binary units, case-insensitively, and bare bytes', () => {
    const cases: [string, number][] = [
      ['64MB', 64_000_000],
      ['64 MB', 64_000_000],
      ['64mB', 64_000_000],
      ['2 kiB', 2048],
      ['512KB', 512_000],
      ['1.5GB', 1_500_000_000],
      ['64MiB', 64 * 1024 * 1024],
      ['8KiB', 8192],
      ['2GiB', 2 * 1024 ** 3],
      ['1000', 1000],
      ['1000B', 1000],
      ['.5MB', 500_000],
    ];
    for (const [text, bytes] of cases) assert.equal(parseBytes(text), bytes, text);
  });

  it('rejects bits, unknown units, negatives, zero and junk with a message naming the problem', () => {
    assert.throws(() => parseBytes('64Mb'), /reads as bits.*64MB for bytes/);
    assert.throws(() => parseBytes('8Kib'), /reads as bits.*8KiB for bytes/);
    assert.throws(() => parseBytes('64 mb'), /reads as bits/);
    assert.throws(() => parseBytes('64TB'), /unknown memory unit 'TB'/);
    assert.throws(() => parseBytes('64 megabytes'), /unknown memory unit/);
    assert.throws(() => parseBytes('-5MB'), /cannot read '-5MB'/);
    assert.throws(() => parseBytes('0MB'), /more than 0 bytes/);
    assert.throws(() => parseBytes(''), /cannot read/);
    assert.throws(() => parseBytes('MB'), /cannot read/);
    assert.throws(() => parseBytes('1e6'), /cannot read '1e6'/);
  });

  it('formats in the decimal units it reads back', () => {
    assert.equal(formatBytes(64_000_000), '64.00 MB');
    assert.equal(parseBytes(formatBytes(64_000_000).replace(' ', '')), 64_000_000);
    assert.equal(formatBytes(1500), '1.5 KB');
    assert.equal(formatBytes(12), '12 B');
  });
});
