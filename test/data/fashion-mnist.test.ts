import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { fashionMnistAvailable, loadFashionMnist } from '../../src/data/fashion-mnist.js';

function idx(magic: number, dims: number[], bytes: number[]): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head.writeUInt32BE(magic, 0);
  for (const [i, d] of dims.entries()) head.writeUInt32BE(d, 4 + 4 * i);
  return gzipSync(Buffer.concat([head, Buffer.from(bytes)]));
}

describe('data: Fashion-MNIST loader', () => {
  it('reads IDX files (a fake pair in a temp dir) and says how to install when absent', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fmnist-'));
    try {
      assert.equal(fashionMnistAvailable(dir), false);
      assert.throws(() => loadFashionMnist({ dir }), /apt-get install dataset-fashion-mnist/);
      const img = Array.from({ length: 3 * 784 }, (_, i) => i % 256);
      for (const p of ['train', 't10k']) {
        writeFileSync(join(dir, `${p}-images-idx3-ubyte.gz`), idx(0x803, [3, 28, 28], img));
        writeFileSync(join(dir, `${p}-labels-idx1-ubyte.gz`), idx(0x801, [3], [7, 0, 9]));
      }
      const d = loadFashionMnist({ dir, trainCount: 2, testCount: 3 });
      assert.deepEqual(d.sampleShape, [28, 28, 1]);
      assert.deepEqual(Array.from(d.train.y), [7, 0]);
      assert.equal(d.test.count, 3);
      assert.equal(d.train.x[255], 1);
      assert.equal(d.train.x[1], Math.fround(1 / 255));
      assert.throws(
        () => loadFashionMnist({ dir, trainCount: 4 }),
        /4 samples requested but only 3/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
